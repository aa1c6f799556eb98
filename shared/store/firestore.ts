// The store on Firestore. Every change is a transaction (or a create()
// precondition); slots live in one document per platform, `capacity/{platform}`,
// changed only in transactions. Queries are built only from QUERY_SHAPES
// (firestore-queries.ts), whose composite indexes infra/gcp/firestore.indexes.json declares.
//
// Transactions that touch the same document from this process are queued
// in-process first (a keyed lock): Firestore's answer to two transactions that
// read and then write the same document is a lock wait, then ABORTED and a
// retry with back-off (about 2 s per conflict on the emulator). The lock only
// avoids that cost within one instance; the transactions alone keep the
// guarantees between instances.
import type { Firestore } from '@google-cloud/firestore';
import { mergeBuild } from '../builds/record';
import { approvalId, buildId, isValidFirestoreId } from '../domain/naming';
import { TERMINAL_STATUSES, type TestStatus } from '../domain/test';
import {
  approvalFromDoc,
  approvalToDoc,
  buildFromDoc,
  buildToDoc,
  capacityToDoc,
  deliveryFromDoc,
  deliveryToDoc,
  holdersFromDoc,
  leaseFromDoc,
  leaseToDoc,
  platformSwitchFromDoc,
  platformSwitchToDoc,
  testFromDoc,
  testToDoc,
  toFirestore,
} from './firestore-convert';
import {
  DEFAULT_COLLECTIONS,
  QUERY_SHAPES,
  RECENT_FILTERS,
  recentShape,
  runShape,
  type QueryShape,
  type StoreCollections,
} from './firestore-queries';
import { createKeyedLock } from './keyed-lock';
import { DEADLINE_STATUSES, type SlotOutcome, type TestStore, type TransitionResult } from './port';
import {
  assertCreateBatch,
  assertLeaseName,
  assertListByStatusOptions,
  assertMaxConcurrent,
  assertStatusFilter,
  listLimit,
  mayRecordDeletion,
  mayTakeLease,
  normalizeApproval,
  normalizeBuild,
  normalizeDelivery,
  planAcquire,
  planReconcile,
  planRelease,
  planTransition,
  statusCheckAfterPost,
} from './rules';

/**
 * The client gives up after 11 attempts whatever maxAttempts says (its
 * back-off allows 10 retries), failing with "Exceeded maximum number of
 * retries allowed."; that failure is thrown, for the caller's own retry.
 */
export const TRANSACTION_ATTEMPTS = 11;

export { DEFAULT_COLLECTIONS, QUERY_SHAPES, type QueryShape, type StoreCollections };

export interface FirestoreStoreOptions {
  db: Firestore;
  collections?: Partial<StoreCollections>;
}

const ALREADY_EXISTS = 6;

export function createFirestoreStore({ db, collections }: FirestoreStoreOptions): TestStore {
  const names = { ...DEFAULT_COLLECTIONS, ...collections };
  const tests = db.collection(names.tests);
  const deliveries = db.collection(names.deliveries);
  const capacity = db.collection(names.capacity);
  const approvals = db.collection(names.approvals);
  const builds = db.collection(names.builds);
  const leases = db.collection(names.leases);
  const platforms = db.collection(names.platforms);
  const lock = createKeyedLock();
  const testKey = (id: string) => `test:${id}`;
  const slotKey = (platform: string) => `capacity:${platform}`;
  const leaseKey = (name: string) => `lease:${name}`;

  const query = (
    shape: QueryShape,
    values: readonly unknown[],
    opts: { below?: Date; limit: number },
  ) => runShape(db, names, shape, values, opts, testFromDoc);

  return {
    async createTests(input) {
      assertCreateBatch(input);
      if (input.length === 0) return { created: [], existing: [] };
      const refs = input.map((test) => tests.doc(test.id));
      return lock.run(
        input.map((test) => testKey(test.id)),
        () =>
          db.runTransaction(
            async (tx) => {
              const snaps = await tx.getAll(...refs);
              const created: string[] = [];
              const existing: string[] = [];
              input.forEach((test, i) => {
                if (snaps[i]?.exists) {
                  existing.push(test.id);
                } else {
                  tx.create(refs[i]!, testToDoc(test));
                  created.push(test.id);
                }
              });
              return { created, existing };
            },
            { maxAttempts: TRANSACTION_ATTEMPTS },
          ),
      );
    },

    async getTest(id) {
      const snap = await tests.doc(id).get();
      return snap.exists ? testFromDoc(snap) : null;
    },

    async recordStatusPosted(id, posted) {
      const ref = tests.doc(id);
      return lock.run([testKey(id)], () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(ref);
            if (!snapshot.exists) return { recorded: false as const };
            const stored = testFromDoc(snapshot);
            const statusCheckAt = statusCheckAfterPost(stored, posted);
            tx.update(ref, {
              githubStatus: toFirestore(posted),
              statusCheckAt: toFirestore(statusCheckAt),
            });
            const test = { ...stored, githubStatus: { ...posted }, statusCheckAt };
            return { recorded: true as const, test };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listDueStatusChecks(now, limit) {
      const ended: readonly TestStatus[] = TERMINAL_STATUSES;
      return query(QUERY_SHAPES.dueStatusChecks, [ended], { limit: listLimit(limit), below: now });
    },

    async claimStatusCheck(id, expected, next) {
      const ref = tests.doc(id);
      return lock.run([testKey(id)], () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(ref);
            if (!snapshot.exists) return { claimed: false as const };
            const test = testFromDoc(snapshot);
            if (test.statusCheckAt?.getTime() !== expected.getTime()) {
              return { claimed: false as const };
            }
            tx.update(ref, { statusCheckAt: toFirestore(next) });
            return { claimed: true as const, test: { ...test, statusCheckAt: next } };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listWaitingBefore(platform, reason, before, limit) {
      const values = ['waiting', platform, reason];
      return query(QUERY_SHAPES.waitingSince, values, { limit: listLimit(limit), below: before });
    },

    async recordDeletion(id, deletion, expect) {
      const ref = tests.doc(id);
      return lock.run([testKey(id)], () =>
        db.runTransaction(
          async (tx) => {
            const snapshot = await tx.get(ref);
            if (!snapshot.exists) return { recorded: false };
            if (!mayRecordDeletion(testFromDoc(snapshot).deletion, deletion, expect)) {
              return { recorded: false };
            }
            tx.update(ref, { deletion: toFirestore(deletion) });
            return { recorded: true };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listBySha(repo, sha, opts = {}) {
      return query(QUERY_SHAPES.bySha, [repo, sha], { limit: listLimit(opts.limit) });
    },

    async listByPr(repo, pr, opts = {}) {
      const limit = listLimit(opts.limit);
      if (!opts.statuses) return query(QUERY_SHAPES.byPr, [repo, pr], { limit });
      assertStatusFilter(opts.statuses);
      return query(QUERY_SHAPES.byPrInStatuses, [repo, pr, opts.statuses], { limit });
    },

    async listRecent(filter, opts) {
      const limit = listLimit(opts.limit);
      const used = RECENT_FILTERS.filter((field) => filter[field] !== undefined);
      const values = used.map((field) => filter[field]);
      return query(recentShape(used), values, { limit, below: opts.createdBefore });
    },

    async countByStatus(platform, status) {
      const snap = await tests
        .where('platform', '==', platform)
        .where('status', '==', status)
        .count()
        .get();
      return snap.data().count;
    },

    async setPlatformSwitch(value) {
      assertPlatformId(value.platform);
      await platforms.doc(value.platform).set(platformSwitchToDoc(value));
    },

    async listPlatformSwitches() {
      const snap = await platforms.get();
      return snap.docs
        .map(platformSwitchFromDoc)
        .sort((a, b) => (a.platform < b.platform ? -1 : a.platform > b.platform ? 1 : 0));
    },

    async listByPrHead(repo, pr, opts = {}) {
      return query(QUERY_SHAPES.byPrHead, [repo, pr], { limit: listLimit(opts.limit) });
    },

    async transition(id, move) {
      if (move.slot?.op === 'acquire') assertMaxConcurrent(move.slot.maxConcurrent);
      const ref = tests.doc(id);
      const keys = [testKey(id)];
      if (move.slot) {
        // The platform never changes, so it may be read before the transaction, to pick the lock.
        const before = await ref.get();
        if (!before.exists) return { ok: false, reason: 'not_found' };
        keys.push(slotKey(testFromDoc(before).platform));
      }
      return lock.run(keys, () =>
        db.runTransaction(
          async (tx): Promise<TransitionResult> => {
            const snap = await tx.get(ref);
            if (!snap.exists) return { ok: false, reason: 'not_found' };
            const current = testFromDoc(snap);
            const plan = planTransition(current, move);
            if (!plan.ok) return plan;
            let slot: SlotOutcome | undefined;
            if (move.slot) {
              const slotRef = capacity.doc(current.platform);
              const holders = holdersFromDoc(await tx.get(slotRef));
              if (move.slot.op === 'acquire') {
                const acquire = planAcquire(holders, id, move.slot.maxConcurrent, move.at);
                if (!acquire.acquired) {
                  return { ok: false, reason: 'no_capacity', current, holders: acquire.count };
                }
                if (!acquire.alreadyHeld) {
                  tx.set(slotRef, capacityToDoc(current.platform, acquire.holders));
                }
                slot = { op: 'acquire', holders: acquire.count, alreadyHeld: acquire.alreadyHeld };
              } else {
                const release = planRelease(holders, id);
                if (release.released) {
                  tx.set(slotRef, capacityToDoc(current.platform, release.holders));
                }
                slot = { op: 'release', holders: release.count, released: release.released };
              }
            }
            tx.set(ref, testToDoc(plan.next));
            return { ok: true, test: plan.next, previous: current, ...(slot ? { slot } : {}) };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async listByStatus(status, opts) {
      const limit = listLimit(opts.limit);
      assertListByStatusOptions(opts);
      const below = opts.updatedBefore;
      if (opts.platform === undefined) {
        return query(QUERY_SHAPES.byStatus, [status], { limit, below });
      }
      if (opts.waitReason !== undefined) {
        const values = [status, opts.platform, opts.waitReason];
        return query(QUERY_SHAPES.byWaitReasonOnPlatform, values, { limit, below });
      }
      return query(QUERY_SHAPES.byStatusOnPlatform, [status, opts.platform], { limit, below });
    },

    async listPastDeadline(now, limit) {
      const statuses: readonly TestStatus[] = DEADLINE_STATUSES;
      return query(QUERY_SHAPES.pastDeadline, [statuses], { limit: listLimit(limit), below: now });
    },

    async listDueDeletions(now, limit) {
      return query(QUERY_SHAPES.dueDeletions, [null], { limit: listLimit(limit), below: now });
    },

    async recordDelivery(record) {
      const normalized = normalizeDelivery(record);
      const ref = deliveries.doc(normalized.id);
      // A record that TTL deletes between the failed create() and the read is created again.
      for (let attempt = 1; ; attempt++) {
        try {
          await ref.create(deliveryToDoc(normalized));
          return { first: true, record: normalized };
        } catch (error) {
          if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
        }
        const snap = await ref.get();
        if (snap.exists) return { first: false, record: deliveryFromDoc(snap) };
        if (attempt === 3)
          throw new Error(`delivery ${normalized.id} keeps vanishing after create()`);
      }
    },

    async getDelivery(id) {
      const snap = await deliveries.doc(id).get();
      return snap.exists ? deliveryFromDoc(snap) : null;
    },

    async recordApproval(record) {
      const normalized = normalizeApproval(record);
      const ref = approvals.doc(approvalId(normalized.repo, normalized.pr, normalized.sha));
      try {
        await ref.create(approvalToDoc(normalized));
        return { first: true, record: normalized };
      } catch (error) {
        if ((error as { code?: unknown }).code !== ALREADY_EXISTS) throw error;
      }
      // Approvals are never deleted, so the one that won the create() is there.
      const snap = await ref.get();
      return { first: false, record: approvalFromDoc(snap) };
    },

    async getApproval(repo, pr, sha) {
      const snap = await approvals.doc(approvalId(repo, pr, sha)).get();
      return snap.exists ? approvalFromDoc(snap) : null;
    },

    async recordBuild(record) {
      const normalized = normalizeBuild(record);
      const ref = builds.doc(buildId(normalized.repo, normalized.sha, normalized.workflow));
      return db.runTransaction(
        async (tx) => {
          const kept = mergeBuild(buildFromDoc(await tx.get(ref)), normalized);
          if (kept === normalized) tx.set(ref, buildToDoc(normalized));
          return kept;
        },
        { maxAttempts: TRANSACTION_ATTEMPTS },
      );
    },

    async getBuild(repo, sha, workflow) {
      return buildFromDoc(await builds.doc(buildId(repo, sha, workflow)).get());
    },

    async acquireSlot(platform, testId, maxConcurrent, at) {
      assertMaxConcurrent(maxConcurrent);
      const ref = capacity.doc(platform);
      return lock.run([slotKey(platform)], async () => {
        // Reads are strongly consistent: one that finds the platform full, or the slot
        // already held, is a true answer as of that moment. Only a free slot needs a transaction.
        const seen = planAcquire(holdersFromDoc(await ref.get()), testId, maxConcurrent, at);
        if (!seen.acquired) return { acquired: false, holders: seen.count };
        if (seen.alreadyHeld) return { acquired: true, holders: seen.count, alreadyHeld: true };
        return db.runTransaction(
          async (tx) => {
            const plan = planAcquire(holdersFromDoc(await tx.get(ref)), testId, maxConcurrent, at);
            if (!plan.acquired) return { acquired: false as const, holders: plan.count };
            if (!plan.alreadyHeld) tx.set(ref, capacityToDoc(platform, plan.holders));
            return { acquired: true as const, holders: plan.count, alreadyHeld: plan.alreadyHeld };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        );
      });
    },

    async releaseSlot(platform, testId) {
      const ref = capacity.doc(platform);
      return lock.run([slotKey(platform)], async () => {
        const seen = planRelease(holdersFromDoc(await ref.get()), testId);
        if (!seen.released) return { released: false, holders: seen.count };
        return db.runTransaction(
          async (tx) => {
            const plan = planRelease(holdersFromDoc(await tx.get(ref)), testId);
            if (plan.released) tx.set(ref, capacityToDoc(platform, plan.holders));
            return { released: plan.released, holders: plan.count };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        );
      });
    },

    async reconcileSlot(platform, testId, at) {
      const testRef = tests.doc(testId);
      const slotRef = capacity.doc(platform);
      return lock.run([testKey(testId), slotKey(platform)], () =>
        db.runTransaction(
          async (tx) => {
            // Both reads in the transaction: a move that ends the test (and frees
            // its slot) between them would otherwise be undone by a restore.
            const [testSnap, slotSnap] = await tx.getAll(testRef, slotRef);
            const test = testSnap!.exists ? testFromDoc(testSnap!) : null;
            const plan = planReconcile(holdersFromDoc(slotSnap!), platform, testId, test, at);
            if (plan.change !== 'none') tx.set(slotRef, capacityToDoc(platform, plan.holders));
            return { change: plan.change, holders: plan.count };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async slotHolders(platform) {
      return Object.keys(holdersFromDoc(await capacity.doc(platform).get())).sort();
    },

    async takeLease(name, holder, at, until) {
      assertLeaseName(name);
      const ref = leases.doc(name);
      return lock.run([leaseKey(name)], () =>
        db.runTransaction(
          async (tx) => {
            if (!mayTakeLease(leaseFromDoc(await tx.get(ref)), holder, at)) return { taken: false };
            tx.set(ref, leaseToDoc({ holder, until }));
            return { taken: true };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },

    async releaseLease(name, holder) {
      assertLeaseName(name);
      const ref = leases.doc(name);
      return lock.run([leaseKey(name)], () =>
        db.runTransaction(
          async (tx) => {
            if (leaseFromDoc(await tx.get(ref))?.holder !== holder) return { released: false };
            tx.delete(ref);
            return { released: true };
          },
          { maxAttempts: TRANSACTION_ATTEMPTS },
        ),
      );
    },
  };
}

function assertPlatformId(platform: string): void {
  if (!isValidFirestoreId(platform)) {
    throw new RangeError(`not a usable platform name: ${JSON.stringify(platform)}`);
  }
}
