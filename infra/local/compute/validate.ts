// The checks Compute makes on an insert before it accepts it, so that a
// request the real API would refuse with 400 is refused here too.
import { invalidField, legacyError } from './api';

export interface MetadataItem {
  key: string;
  value: string;
}

export interface ValidInsert {
  name: string;
  /** The machine type's name, e.g. `e2-standard-2`. */
  machineTypeName: string;
  labels: Record<string, string>;
  items: MetadataItem[];
  /** maxRunDuration in milliseconds (unscaled), if set. */
  maxRunMs?: number;
  terminationAction: 'DELETE' | 'STOP';
  /** The boot disk's source image, for messages. */
  image: string;
}

const NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_KEY = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const METADATA_KEY = /^[a-zA-Z0-9_-]{1,128}$/;
const MAX_METADATA_VALUE = 256 * 1024;
const MAX_METADATA_TOTAL = 512 * 1024;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** Compute accepts only a UUID as requestId, and not the zero one. */
export function checkRequestId(requestId: string | null): string | undefined {
  if (requestId === null || requestId === '') return undefined;
  if (!UUID.test(requestId) || /^[0-]+$/.test(requestId)) {
    throw invalidField(
      'requestId',
      requestId,
      'The request ID must be a valid UUID with the exception that zero UUID is not supported (00000000-0000-0000-0000-000000000000).',
    );
  }
  return requestId.toLowerCase();
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function durationMs(value: unknown): number | undefined {
  if (!isRecord(value)) return undefined;
  const seconds = Number(value.seconds ?? 0);
  const nanos = Number(value.nanos ?? 0);
  if (!Number.isFinite(seconds) || !Number.isFinite(nanos)) return undefined;
  return seconds * 1000 + nanos / 1e6;
}

export function validateInsert(body: unknown, zone: string): ValidInsert {
  if (!isRecord(body))
    throw legacyError(400, 'required', "Required field 'resource' not specified");
  const name = body.name;
  if (typeof name !== 'string' || name === '') {
    throw legacyError(400, 'required', "Required field 'resource.name' not specified");
  }
  if (!NAME.test(name)) {
    throw invalidField(
      'resource.name',
      name,
      "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
    );
  }

  const machineType = body.machineType;
  if (typeof machineType !== 'string' || machineType === '') {
    throw legacyError(400, 'required', "Required field 'resource.machineType' not specified");
  }
  const mt = /(?:^|\/)zones\/([^/]+)\/machineTypes\/([^/]+)$/.exec(machineType);
  if (!mt) {
    throw invalidField(
      'resource.machineType',
      machineType,
      "Must be a URL of the form 'zones/{zone}/machineTypes/{machineType}'.",
    );
  }
  if (mt[1] !== zone) {
    throw invalidField(
      'resource.machineType',
      machineType,
      `Cross-zone reference: the instance is in zone '${zone}'.`,
    );
  }

  const labels = body.labels ?? {};
  if (!isRecord(labels)) throw invalidField('resource.labels', String(labels), 'Must be a map.');
  const labelEntries = Object.entries(labels);
  if (labelEntries.length > 64) {
    throw invalidField('resource.labels', '', 'At most 64 labels are allowed.');
  }
  for (const [key, value] of labelEntries) {
    if (!LABEL_KEY.test(key)) {
      throw invalidField(
        'resource.labels',
        '',
        `Label key '${key}' violates format constraints. The key must start with a lowercase character, can only contain lowercase letters, numeric characters, underscores and dashes. The key can be at most 63 characters long.`,
      );
    }
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      throw invalidField(
        'resource.labels',
        '',
        `Label value '${String(value)}' violates format constraints. The value can only contain lowercase letters, numeric characters, underscores and dashes. The value can be at most 63 characters long.`,
      );
    }
  }

  const metadata = body.metadata ?? {};
  const rawItems = isRecord(metadata) ? (metadata.items ?? []) : undefined;
  if (!Array.isArray(rawItems)) {
    throw invalidField('resource.metadata', '', 'Metadata must hold a list of items.');
  }
  const items: MetadataItem[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const item of rawItems) {
    const key = isRecord(item) ? item.key : undefined;
    const value = isRecord(item) ? (item.value ?? '') : undefined;
    if (typeof key !== 'string' || !METADATA_KEY.test(key) || typeof value !== 'string') {
      throw invalidField('resource.metadata', '', `Invalid metadata key '${String(key)}'.`);
    }
    if (seen.has(key)) {
      throw invalidField('resource.metadata', '', `Duplicate metadata key '${key}'.`);
    }
    seen.add(key);
    const size = Buffer.byteLength(key) + Buffer.byteLength(value);
    if (Buffer.byteLength(value) > MAX_METADATA_VALUE) {
      throw invalidField(
        'resource.metadata',
        '',
        `Metadata value for key '${key}' exceeds the limit of ${MAX_METADATA_VALUE} bytes.`,
      );
    }
    total += size;
    items.push({ key, value });
  }
  if (total > MAX_METADATA_TOTAL) {
    throw invalidField(
      'resource.metadata',
      '',
      `Metadata has a total size of ${total} bytes, over the limit of ${MAX_METADATA_TOTAL}.`,
    );
  }

  const scheduling = isRecord(body.scheduling) ? body.scheduling : {};
  const maxRunMs = durationMs(scheduling.maxRunDuration);
  if (maxRunMs !== undefined && !(maxRunMs > 0)) {
    throw invalidField(
      'resource.scheduling.maxRunDuration',
      JSON.stringify(scheduling.maxRunDuration),
      'Must be positive.',
    );
  }

  const disks = Array.isArray(body.disks) ? body.disks : [];
  const boot = disks.find((d) => isRecord(d) && d.boot === true) ?? disks[0];
  const params = isRecord(boot) && isRecord(boot.initializeParams) ? boot.initializeParams : {};
  const image =
    typeof params.sourceImage === 'string'
      ? params.sourceImage.replace(/^https:\/\/www\.googleapis\.com\/compute\/v1\//, '')
      : 'projects/debian-cloud/global/images/family/debian-12';

  return {
    name,
    machineTypeName: mt[2] as string,
    labels: labels as Record<string, string>,
    items,
    ...(maxRunMs !== undefined ? { maxRunMs } : {}),
    terminationAction: scheduling.instanceTerminationAction === 'DELETE' ? 'DELETE' : 'STOP',
    image,
  };
}
