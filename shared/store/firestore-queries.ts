// The queries the Firestore adapter may run, as data: the adapter builds every
// query from one of these shapes, and test/store/indexes.test.ts checks that
// infra/gcp/firestore.indexes.json has a composite index for each.
import {
  Timestamp,
  type DocumentSnapshot,
  type Firestore,
  type Query,
} from '@google-cloud/firestore';

export interface StoreCollections {
  tests: string;
  deliveries: string;
  capacity: string;
  approvals: string;
  builds: string;
  leases: string;
  platforms: string;
}

export const DEFAULT_COLLECTIONS: StoreCollections = {
  tests: 'tests',
  deliveries: 'deliveries',
  capacity: 'capacity',
  approvals: 'approvals',
  builds: 'builds',
  leases: 'leases',
  platforms: 'platforms',
};

export interface QueryShape {
  readonly collection: keyof StoreCollections;
  /** Equality (`==` or `in`) filters, in the order they are applied; none: Firestore's own single-field index serves it. */
  readonly equals: readonly { readonly field: string; readonly op: '==' | 'in' }[];
  /** The sort field; the only field a range filter (`<`) may use. */
  readonly orderBy: { readonly field: string; readonly direction: 'asc' | 'desc' };
}

/** The queries of a fixed shape. */
const FIXED_SHAPES = {
  byStatus: {
    collection: 'tests',
    equals: [{ field: 'status', op: '==' }],
    orderBy: { field: 'updatedAt', direction: 'asc' },
  },
  byStatusOnPlatform: {
    collection: 'tests',
    equals: [
      { field: 'status', op: '==' },
      { field: 'platform', op: '==' },
    ],
    orderBy: { field: 'updatedAt', direction: 'asc' },
  },
  byWaitReasonOnPlatform: {
    collection: 'tests',
    equals: [
      { field: 'status', op: '==' },
      { field: 'platform', op: '==' },
      { field: 'waitReason', op: '==' },
    ],
    orderBy: { field: 'updatedAt', direction: 'asc' },
  },
  // `doneAt == null` matches only a deletion whose doneAt is null: a test with
  // no deletion has no such field. The `<` bound on nextCheckAt matches only
  // Timestamps, so a null (or missing) nextCheckAt is never due.
  dueDeletions: {
    collection: 'tests',
    equals: [{ field: 'deletion.doneAt', op: '==' }],
    orderBy: { field: 'deletion.nextCheckAt', direction: 'asc' },
  },
  pastDeadline: {
    collection: 'tests',
    equals: [{ field: 'status', op: 'in' }],
    orderBy: { field: 'deadlineAt', direction: 'asc' },
  },
  // Ended tests whose final status is due for a check. The `<` bound matches
  // only Timestamps: a null (or missing) statusCheckAt is never due.
  dueStatusChecks: {
    collection: 'tests',
    equals: [{ field: 'status', op: 'in' }],
    orderBy: { field: 'statusCheckAt', direction: 'asc' },
  },
  // Tests waiting for one reason on one platform, longest wait first. A
  // document written before waitingSince existed is not listed.
  waitingSince: {
    collection: 'tests',
    equals: [
      { field: 'status', op: '==' },
      { field: 'platform', op: '==' },
      { field: 'waitReason', op: '==' },
    ],
    orderBy: { field: 'waitingSince', direction: 'asc' },
  },
  bySha: {
    collection: 'tests',
    equals: [
      { field: 'repo', op: '==' },
      { field: 'sha', op: '==' },
    ],
    orderBy: { field: 'createdAt', direction: 'asc' },
  },
  byPr: {
    collection: 'tests',
    equals: [
      { field: 'repo', op: '==' },
      { field: 'pr', op: '==' },
    ],
    orderBy: { field: 'createdAt', direction: 'desc' },
  },
  // A document without the field (written before it existed) is not listed;
  // a null one (a push never has a PR) would come last.
  byPrHead: {
    collection: 'tests',
    equals: [
      { field: 'repo', op: '==' },
      { field: 'pr', op: '==' },
    ],
    orderBy: { field: 'headUpdatedAt', direction: 'desc' },
  },
  byPrInStatuses: {
    collection: 'tests',
    equals: [
      { field: 'repo', op: '==' },
      { field: 'pr', op: '==' },
      { field: 'status', op: 'in' },
    ],
    orderBy: { field: 'createdAt', direction: 'desc' },
  },
} as const satisfies Record<string, QueryShape>;

/** The recent-tests listing's filters (status page, `vmci tests`), in the order a shape applies them. */
export const RECENT_FILTERS = ['repo', 'platform', 'status'] as const;
export type RecentField = (typeof RECENT_FILTERS)[number];

/** The recent listing's query for the filters used (any subset of RECENT_FILTERS), newest first. */
export function recentShape(used: readonly RecentField[]): QueryShape {
  return {
    collection: 'tests',
    equals: used.map((field) => ({ field, op: '==' as const })),
    orderBy: { field: 'createdAt', direction: 'desc' },
  };
}

/** One recent-listing shape per subset of its filters: 8, one index each (none without a filter). */
const RECENT_SHAPES: Record<string, QueryShape> = Object.fromEntries(
  RECENT_FILTERS.reduce<RecentField[][]>(
    (subsets, field) => [...subsets, ...subsets.map((subset) => [...subset, field])],
    [[]],
  ).map((used) => [`recent(${used.join(',')})`, recentShape(used)]),
);

/** Every query the adapter runs. Each needs a composite index (equality fields, then orderBy). */
export const QUERY_SHAPES = { ...FIXED_SHAPES, ...RECENT_SHAPES };

/** Runs `shape` with one value per equality filter, an optional `< below` on the sort field, and a limit. */
export async function runShape<T>(
  db: Firestore,
  collections: StoreCollections,
  shape: QueryShape,
  values: readonly unknown[],
  opts: { below?: Date; limit: number },
  read: (snap: DocumentSnapshot) => T,
): Promise<T[]> {
  let query: Query = db.collection(collections[shape.collection]);
  shape.equals.forEach(({ field, op }, i) => (query = query.where(field, op, values[i])));
  if (opts.below) query = query.where(shape.orderBy.field, '<', Timestamp.fromDate(opts.below));
  const snap = await query
    .orderBy(shape.orderBy.field, shape.orderBy.direction)
    .limit(opts.limit)
    .get();
  return snap.docs.map(read);
}
