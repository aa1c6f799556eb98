// The boundary between domain records (Date) and Firestore documents
// (Timestamp). Conversion is deep, so nested dates (timeline, deletion) are
// Timestamps in the database, where TTL policies and range queries need them.
import type { BuildRecord } from '../builds/record';
import { Timestamp, type DocumentData, type DocumentSnapshot } from '@google-cloud/firestore';
import type { TestRecord } from '../domain/test';
import type { ApprovalRecord, DeliveryRecord, Lease, PlatformSwitch } from './port';
import type { Holders } from './rules';

/** Dates become Timestamps; keys whose value is undefined are left out. */
export function toFirestore(value: unknown): unknown {
  if (value instanceof Date) return Timestamp.fromDate(value);
  if (Array.isArray(value)) return value.map(toFirestore);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toFirestore(item);
    }
    return out;
  }
  return value;
}

/** Timestamps become Dates. */
export function fromFirestore(value: unknown): unknown {
  if (value instanceof Timestamp) return value.toDate();
  if (Array.isArray(value)) return value.map(fromFirestore);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = fromFirestore(item);
    return out;
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The document id is the test id; the document holds every other field. */
export function testToDoc(test: TestRecord): DocumentData {
  const { id: _id, ...fields } = test;
  return toFirestore(fields) as DocumentData;
}

/**
 * Trusts the document's shape: only this adapter writes it, through testToDoc.
 * A field added since reads as null on an older document (headUpdatedAt,
 * repoPublic, statusCheckAt, failures, title), or as the best it can tell: an older waiting test has
 * waited at least since its last update. `slotShard` is kept only as a number
 * (absent: the test holds no slot, or is older than shards).
 */
export function testFromDoc(snap: DocumentSnapshot): TestRecord {
  const { slotShard, ...fields } = fromFirestore(snap.data()) as Omit<TestRecord, 'id'>;
  const legacyWaitingSince = fields.status === 'waiting' ? fields.updatedAt : null;
  return {
    ...fields,
    ...(typeof slotShard === 'number' ? { slotShard } : {}),
    headUpdatedAt: fields.headUpdatedAt ?? null,
    repoPublic: fields.repoPublic ?? null,
    waitingSince: fields.waitingSince === undefined ? legacyWaitingSince : fields.waitingSince,
    statusCheckAt: fields.statusCheckAt ?? null,
    failures: fields.failures ?? null,
    title: fields.title ?? null,
    id: snap.id,
  };
}

/** `approvals/{approvalId}`: the record as it is, approvedAt a Timestamp. */
export function approvalToDoc(record: ApprovalRecord): DocumentData {
  return toFirestore(record) as DocumentData;
}

export function approvalFromDoc(snap: DocumentSnapshot): ApprovalRecord {
  return fromFirestore(snap.data()) as ApprovalRecord;
}

/** `builds/{buildId}`: the record as it is, `at` a Timestamp. */
export function buildToDoc(record: BuildRecord): DocumentData {
  return toFirestore(record) as DocumentData;
}

export function buildFromDoc(snap: DocumentSnapshot): BuildRecord | null {
  return snap.exists ? (fromFirestore(snap.data()) as BuildRecord) : null;
}

/** The response body is stored as JSON text: Firestore cannot hold every JSON value (nested arrays). */
export function deliveryToDoc(record: DeliveryRecord): DocumentData {
  return {
    event: record.event,
    receivedAt: Timestamp.fromDate(record.receivedAt),
    expireAt: Timestamp.fromDate(record.expireAt),
    response: { status: record.response.status, bodyJson: JSON.stringify(record.response.body) },
  };
}

export function deliveryFromDoc(snap: DocumentSnapshot): DeliveryRecord {
  const data = snap.data() as {
    event: string;
    receivedAt: Timestamp;
    expireAt: Timestamp;
    response: { status: number; bodyJson: string };
  };
  return {
    id: snap.id,
    event: data.event,
    receivedAt: data.receivedAt.toDate(),
    expireAt: data.expireAt.toDate(),
    response: { status: data.response.status, body: JSON.parse(data.response.bodyJson) },
  };
}

/**
 * The id of one shard of a platform's slots: `{platform}~{shard}` (a platform
 * name never has a `~`: config PLATFORM_NAME), in the capacity collection.
 */
export function capacityShardId(platform: string, shard: number): string {
  return `${platform}~${shard}`;
}

/** `capacity/{platform}~{shard}`: `{ platform, shard, holders: { [testId]: Timestamp } }`. */
export function capacityToDoc(platform: string, shard: number, holders: Holders): DocumentData {
  return { platform, shard, holders: toFirestore(holders) };
}

export function holdersFromDoc(snap: DocumentSnapshot): Holders {
  if (!snap.exists) return {};
  return fromFirestore(snap.get('holders') ?? {}) as Holders;
}

/** `leases/{name}`: `{ holder, until: Timestamp }`. */
export function leaseToDoc(lease: Lease): DocumentData {
  return { holder: lease.holder, until: Timestamp.fromDate(lease.until) };
}

export function leaseFromDoc(snap: DocumentSnapshot): Lease | null {
  if (!snap.exists) return null;
  return { holder: snap.get('holder') as string, until: (snap.get('until') as Timestamp).toDate() };
}

export function platformSwitchToDoc(value: PlatformSwitch): DocumentData {
  return {
    platform: value.platform,
    maintenance: value.maintenance,
    by: value.by,
    at: Timestamp.fromDate(value.at),
  };
}

export function platformSwitchFromDoc(snap: DocumentSnapshot): PlatformSwitch {
  return {
    platform: snap.get('platform') as string,
    maintenance: snap.get('maintenance') === true,
    by: String(snap.get('by') ?? ''),
    at: (snap.get('at') as Timestamp).toDate(),
  };
}
