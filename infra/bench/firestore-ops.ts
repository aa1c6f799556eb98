// Firestore operations, counted at the @google-cloud/firestore client (issue 16):
// the documents each read returns and the documents each commit writes, by
// collection and kind, for every Firestore instance in the process (the
// functions run in process in the bench and build their own client).
//
// Reads: Query.get, DocumentReference.get, Transaction.get, Transaction.getAll,
// Firestore.getAll and AggregateQuery.get are patched: a query adds the
// documents it returned (and, when it returned none, the one read Firestore bills
// it), a document get adds 1 (found or not), an aggregation adds 1. A call made
// inside another counted call (DocumentReference.get uses getAll) is counted once;
// a transaction that retries calls its reads again, and they count again, as
// Firestore bills them.
// Writes: Firestore.prototype.request, through which every commit goes (a
// transaction's, a batch's, a document's create/set/update/delete: all are a
// WriteBatch commit) and BulkWriter's batchWrite: each document a successful
// commit writes counts once (a set and an update of one document in one commit
// are one write), deletes included, with its path and the commit time. A commit
// that fails writes nothing and counts only as a failed commit.
// With `sites`, each operation is also put down to where the project's code asked
// for it: the store method and its first caller outside shared/store (from the
// stack where a read, a transaction, a batch commit or a document write starts;
// what runs inside a transaction belongs to the transaction's site).
import { AsyncLocalStorage } from 'node:async_hooks';
import { join, relative, sep } from 'node:path';
import * as firestoreModule from '@google-cloud/firestore';

type FirestoreModule = Pick<
  typeof firestoreModule,
  | 'Firestore'
  | 'Query'
  | 'DocumentReference'
  | 'Transaction'
  | 'WriteBatch'
  | 'QuerySnapshot'
  | 'DocumentSnapshot'
>;

/** The operations on one collection (or all of them). */
export interface CollectionOps {
  /** Queries run. */
  queries: number;
  /** Documents the queries returned. */
  queryDocs: number;
  /** Queries that returned nothing: Firestore bills each one read. */
  emptyQueries: number;
  /** Document gets (DocumentReference.get, Transaction.get of a document, getAll: per document), found or not. */
  gets: number;
  /** Aggregation queries (count()): one read each (up to 1,000 index entries). */
  aggregations: number;
  /** Documents written by successful commits, once per document per commit (deletes included). */
  writes: number;
  /** Of the writes, deletes. */
  deletes: number;
}

export interface OpsCounts extends CollectionOps {
  /** Documents returned by reads: queryDocs + gets + aggregations (an empty query adds 0). */
  documents: number;
  /** Successful commits (round trips that wrote). */
  commits: number;
  /** Commits that failed (aborted, a precondition, a create of an existing document): nothing written. */
  failedCommits: number;
  /** By the document's top-level collection ("tests" for tests/abc and tests/abc/sub/x). */
  byCollection: Record<string, CollectionOps>;
  /** With `sites`: by call site, then by collection. */
  bySite: Record<string, Record<string, CollectionOps>>;
}

/** One document written by one commit. */
export interface WriteEvent {
  /** The document's path below the database: "capacity/linux". */
  path: string;
  /** The commit time, epoch ms. */
  at: number;
}

export interface FirestoreOpsCounter {
  readonly counts: OpsCounts;
  /** Every document written while counting, in the order the commits answered. */
  readonly writeLog: readonly WriteEvent[];
  /** Counts only between start() and stop(); reset() zeroes the counts and the log. */
  start(): void;
  stop(): void;
  reset(): void;
  /** Operations through this client are not counted (the bench's own reads). */
  ignore(client: object): void;
  /** Puts the client's methods back. */
  restore(): void;
}

/** Reads as Firestore bills them: documents returned, plus one per query that returned none. */
export function billedReads(ops: CollectionOps): number {
  return ops.queryDocs + ops.emptyQueries + ops.gets + ops.aggregations;
}

export const FIRESTORE_OPS_NOTE =
  'Firestore operations are counted at the @google-cloud/firestore client, by patching ' +
  'Query.get, DocumentReference.get, Transaction.get, Transaction.getAll, Firestore.getAll ' +
  'and AggregateQuery.get (reads) and Firestore.request for commit and batchWrite (writes) for ' +
  'the run: each query adds the documents it returned (one read when it returned none, as ' +
  'Firestore bills it), each document get adds 1 (found or not), each count() adds 1; a call ' +
  'made inside another counted call (the client implements DocumentReference.get with getAll) ' +
  'is not counted twice; a transaction that retries counts its reads again, as Firestore bills ' +
  'them; each document a successful commit writes counts once (deletes included), a failed ' +
  'commit writes nothing.';

const emptyOps = (): CollectionOps => ({
  queries: 0,
  queryDocs: 0,
  emptyQueries: 0,
  gets: 0,
  aggregations: 0,
  writes: 0,
  deletes: 0,
});

const emptyCounts = (): OpsCounts => ({
  ...emptyOps(),
  documents: 0,
  commits: 0,
  failedCommits: 0,
  byCollection: {},
  bySite: {},
});

/** Copies of the client module the counters patch (one per Jest module registry). */
const modules = new Map<unknown, FirestoreModule>([[firestoreModule.Firestore, firestoreModule]]);
let active: { patch(mod: FirestoreModule): void } | undefined;

/**
 * Another copy of @google-cloud/firestore whose clients are to be counted too:
 * Jest's isolated module registries (jest.isolateModulesAsync) load a module
 * copy of their own, with prototypes of its own. A counter running now patches it at once.
 */
export function addFirestoreModule(mod: FirestoreModule): void {
  if (modules.has(mod.Firestore)) return;
  modules.set(mod.Firestore, mod);
  active?.patch(mod);
}

/** The document's path below the database, from a full resource name. */
export function documentPath(name: string): string {
  const at = name.indexOf('/documents/');
  return at >= 0 ? name.slice(at + '/documents/'.length) : name;
}

/** The top-level collection of a document path ("tests/abc/runs/1" → "tests"). */
export function topCollection(path: string): string {
  return path.split('/')[0] || '?';
}

interface QueryInternals {
  _queryOptions?: { parentPath?: { segments?: readonly string[] }; collectionId?: string };
}

function queryCollection(query: unknown): string {
  const options = (query as QueryInternals | undefined)?._queryOptions;
  return options?.parentPath?.segments?.[0] ?? options?.collectionId ?? '?';
}

function timestampMs(value: unknown): number | undefined {
  const t = value as { seconds?: unknown; nanos?: unknown } | null | undefined;
  if (!t || t.seconds === undefined || t.seconds === null) return undefined;
  const ms = Number(t.seconds) * 1000 + Number(t.nanos ?? 0) / 1e6;
  return Number.isFinite(ms) ? ms : undefined;
}

interface WriteProto {
  update?: { name?: string } | null;
  delete?: string | null;
  transform?: { document?: string } | null;
}

const ROOT = join(__dirname, '..', '..') + sep;
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

/**
 * Where the project's code asked for an operation, from the current stack:
 * "getDelivery ← handleWebhookEvent (shared/webhook/handle-event.ts:67)".
 */
export function callSite(stack: string = captureStack()): string {
  const frames = stack
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      const match = FRAME.exec(line);
      if (!match) return [];
      const [, fn, file = '', lineNo] = match;
      if (!file.startsWith(ROOT) || file.includes(`${sep}node_modules${sep}`)) return [];
      const rel = relative(ROOT, file).split(sep).join('/');
      if (rel.startsWith('infra/bench/')) return [];
      // "Object.get [as getDelivery]" → "getDelivery"; "Object.acquireSlot" → "acquireSlot".
      const name = /\[as ([^\]]+)\]/.exec(fn ?? '')?.[1] ?? (fn ?? '').replace(/^.*\./, '');
      return [{ fn: name || '<anonymous>', rel, lineNo }];
    });
  const store = frames.find((f) => f.rel.startsWith('shared/store/'));
  const caller = frames.find((f) => !f.rel.startsWith('shared/store/'));
  const where = caller ? `${caller.fn} (${caller.rel}:${caller.lineNo})` : '?';
  return store ? `${store.fn} ← ${where}` : where;
}

function captureStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  try {
    return new Error().stack ?? '';
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export interface CountOptions {
  /** Put each operation down to its call site too (counts.bySite); costs a stack per call. */
  sites?: boolean;
}

/**
 * Patches every copy of the Firestore client (for every instance) to count
 * reads and writes. One counter at a time; restore() when done.
 */
export function countFirestoreOps(options: CountOptions = {}): FirestoreOpsCounter {
  if (active) throw new Error('a Firestore counter is already running: restore() it first');
  const counts = emptyCounts();
  const writeLog: WriteEvent[] = [];
  const inside = new AsyncLocalStorage<true>();
  const siteOf = new AsyncLocalStorage<string>();
  const sites = options.sites ?? false;
  const ignored = new WeakSet<object>();
  let on = false;
  const restores: (() => void)[] = [];

  const collection = (name: string): CollectionOps => (counts.byCollection[name] ??= emptyOps());
  const add = (name: string, field: keyof CollectionOps, n = 1, site = siteOf.getStore()) => {
    counts[field] += n;
    collection(name)[field] += n;
    if (site !== undefined) ((counts.bySite[site] ??= {})[name] ??= emptyOps())[field] += n;
  };
  /** Runs `run` with the call site known, unless one is already (an outer call's). */
  const withSite = <T>(run: () => T): T =>
    !sites || siteOf.getStore() !== undefined ? run() : siteOf.run(callSite(), run);

  const patchModule = (mod: FirestoreModule) => {
    const { Firestore, QuerySnapshot, DocumentSnapshot } = mod;
    // AggregateQuery is not exported: reached through an instance (never connected).
    const probe = new Firestore({ projectId: 'vmci-bench-probe' });
    const aggregateProto = Object.getPrototypeOf(probe.collection('c').count()) as object;
    void probe.terminate();
    const isAggregate = (value: unknown) =>
      typeof value === 'object' &&
      value !== null &&
      Object.prototype.isPrototypeOf.call(aggregateProto, value);

    const clientOf = (self: unknown): object | undefined => {
      if (self instanceof Firestore) return self;
      const s = self as { _firestore?: object; _query?: { _firestore?: object } } | undefined;
      return s?._firestore ?? s?._query?._firestore;
    };
    const tally = (result: unknown, args: readonly unknown[], aggregate: boolean) => {
      if (result instanceof QuerySnapshot) {
        const name = queryCollection(result.query);
        add(name, 'queries');
        add(name, 'queryDocs', result.size);
        counts.documents += result.size;
        if (result.size === 0) add(name, 'emptyQueries');
      } else if (result instanceof DocumentSnapshot) {
        add(topCollection(result.ref.path), 'gets');
        counts.documents += 1;
      } else if (Array.isArray(result)) {
        for (const item of result) tally(item, [], false);
      } else if (aggregate || isAggregate(args[0])) {
        const query = aggregate ? undefined : (args[0] as { query?: unknown }).query;
        add(queryCollection(query), 'aggregations');
        counts.documents += 1;
      }
    };
    const patchRead = (proto: object, method: string, aggregate = false) => {
      const target = proto as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const original = target[method]!;
      target[method] = function (this: unknown, ...args: unknown[]) {
        if (!on || inside.getStore()) return original.apply(this, args);
        const client = clientOf(this);
        if (client && ignored.has(client)) return original.apply(this, args);
        return withSite(() =>
          inside.run(true, async () => {
            const result = await original.apply(this, args);
            if (on && aggregate) {
              add(queryCollection((this as { query?: unknown }).query), 'aggregations');
              counts.documents += 1;
            } else if (on) tally(result, args, false);
            return result;
          }),
        );
      };
      restores.push(() => (target[method] = original));
    };
    /** Where writes start: only the call site is taken (the commit request counts). */
    const patchSite = (proto: object, method: string) => {
      const target = proto as Record<string, (...args: unknown[]) => unknown>;
      const original = target[method]!;
      target[method] = function (this: unknown, ...args: unknown[]) {
        if (!on || !sites) return original.apply(this, args);
        return withSite(() => original.apply(this, args));
      };
      restores.push(() => (target[method] = original));
    };
    patchRead(mod.Query.prototype, 'get');
    patchRead(mod.DocumentReference.prototype, 'get');
    patchRead(mod.Transaction.prototype, 'get');
    patchRead(mod.Transaction.prototype, 'getAll');
    patchRead(Firestore.prototype, 'getAll');
    patchRead(aggregateProto, 'get', true);
    patchSite(Firestore.prototype, 'runTransaction');
    patchSite(mod.WriteBatch.prototype, 'commit');
    for (const method of ['create', 'set', 'update', 'delete']) {
      patchSite(mod.DocumentReference.prototype, method);
    }

    const proto = Firestore.prototype as unknown as Record<
      string,
      (method: string, request: unknown, ...rest: unknown[]) => Promise<unknown>
    >;
    const request = proto.request!;
    proto.request = function (this: object, method: string, body: unknown, ...rest: unknown[]) {
      const result = request.call(this, method, body, ...rest);
      if (!on || (method !== 'commit' && method !== 'batchWrite') || ignored.has(this)) {
        return result;
      }
      const site = sites ? (siteOf.getStore() ?? callSite()) : undefined;
      return result.then(
        (response) => {
          recordCommit(method, body, response, site);
          return response;
        },
        (error: unknown) => {
          counts.failedCommits += 1;
          throw error;
        },
      );
    };
    restores.push(() => (proto.request = request));
  };

  const recordCommit = (
    method: string,
    body: unknown,
    response: unknown,
    site: string | undefined,
  ) => {
    const writes = ((body as { writes?: WriteProto[] }).writes ?? []) as WriteProto[];
    const answer = response as {
      commitTime?: unknown;
      writeResults?: { updateTime?: unknown }[];
      status?: { code?: number }[];
    };
    const commitAt = timestampMs(answer.commitTime);
    const seen = new Set<string>();
    let wrote = false;
    writes.forEach((write, i) => {
      // batchWrite applies each write alone: only those whose status is OK wrote.
      if (method === 'batchWrite' && (answer.status?.[i]?.code ?? 0) !== 0) return;
      const name = write.update?.name ?? write.delete ?? write.transform?.document;
      if (!name) return;
      const path = documentPath(name);
      if (seen.has(path)) return;
      seen.add(path);
      wrote = true;
      const top = topCollection(path);
      add(top, 'writes', 1, site);
      if (write.delete) add(top, 'deletes', 1, site);
      writeLog.push({
        path,
        at: commitAt ?? timestampMs(answer.writeResults?.[i]?.updateTime) ?? Date.now(),
      });
    });
    if (wrote) counts.commits += 1;
  };

  for (const mod of modules.values()) patchModule(mod);
  active = { patch: patchModule };

  return {
    counts,
    writeLog,
    start: () => (on = true),
    stop: () => (on = false),
    reset: () => {
      Object.assign(counts, emptyCounts());
      writeLog.length = 0;
    },
    ignore: (client) => ignored.add(client),
    restore: () => {
      on = false;
      restores
        .splice(0)
        .reverse()
        .forEach((undo) => undo());
      active = undefined;
    },
  };
}

// --- writes per document per second ---------------------------------------------

export interface HotDocument {
  path: string;
  /** The most writes on the document within any window of `windowMs`. */
  writes: number;
  /** When that window starts (epoch ms). */
  from: number;
  /** All writes on the document. */
  total: number;
}

/** The documents with the most writes in any sliding window of windowMs, most first. */
export function hottestDocuments(
  log: readonly WriteEvent[],
  windowMs = 1000,
  top = 5,
): HotDocument[] {
  const byPath = new Map<string, number[]>();
  for (const event of log) {
    let times = byPath.get(event.path);
    if (!times) byPath.set(event.path, (times = []));
    times.push(event.at);
  }
  const hot: HotDocument[] = [];
  for (const [path, times] of byPath) {
    times.sort((a, b) => a - b);
    let best = 0;
    let from = times[0]!;
    let start = 0;
    for (let end = 0; end < times.length; end++) {
      while (times[end]! - times[start]! >= windowMs) start++;
      if (end - start + 1 > best) {
        best = end - start + 1;
        from = times[start]!;
      }
    }
    hot.push({ path, writes: best, from, total: times.length });
  }
  hot.sort((a, b) => b.writes - a.writes || b.total - a.total || a.path.localeCompare(b.path));
  return hot.slice(0, top);
}

/** "tests 3.0 (query docs 1.0, gets 2.0)"-style lines of per-collection counts, divided by `per`. */
export function describeByCollection(
  counts: OpsCounts,
  what: 'reads' | 'writes',
  per: number,
): string {
  const n = (value: number) => (value / per).toFixed(2).replace(/\.?0+$/, '') || '0';
  const parts = Object.entries(counts.byCollection)
    .map(([name, ops]) => ({ name, ops, total: what === 'reads' ? billedReads(ops) : ops.writes }))
    .filter((c) => c.total > 0)
    .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name))
    .map(({ name, ops, total }) => {
      const kinds =
        what === 'reads'
          ? [
              ['query docs', ops.queryDocs],
              ['empty queries', ops.emptyQueries],
              ['gets', ops.gets],
              ['aggregations', ops.aggregations],
            ]
          : [
              ['sets/updates', ops.writes - ops.deletes],
              ['deletes', ops.deletes],
            ];
      const detail = kinds
        .filter(([, v]) => (v as number) > 0)
        .map(([k, v]) => `${k as string} ${n(v as number)}`)
        .join(', ');
      return `${name} ${n(total)} (${detail})`;
    });
  return parts.length ? parts.join('; ') : 'none';
}

/**
 * One line per call site, most operations first, divided by `per`:
 * "getDelivery ← handleWebhookEvent (shared/webhook/handle-event.ts:67): deliveries gets 1".
 */
export function describeBySite(counts: OpsCounts, per: number): string[] {
  const n = (value: number) => (value / per).toFixed(2).replace(/\.?0+$/, '') || '0';
  return Object.entries(counts.bySite)
    .map(([site, byCollection]) => {
      let total = 0;
      const parts = Object.entries(byCollection).flatMap(([name, ops]) => {
        total += billedReads(ops) + ops.writes;
        const kinds: [string, number][] = [
          ['query docs', ops.queryDocs],
          ['empty queries', ops.emptyQueries],
          ['gets', ops.gets],
          ['aggregations', ops.aggregations],
          ['writes', ops.writes - ops.deletes],
          ['deletes', ops.deletes],
        ];
        return kinds.filter(([, v]) => v > 0).map(([kind, v]) => `${name} ${kind} ${n(v)}`);
      });
      return { line: `${site}: ${parts.join(', ')}`, total };
    })
    .filter((s) => s.total > 0)
    .sort((a, b) => b.total - a.total || a.line.localeCompare(b.line))
    .map((s) => s.line);
}
