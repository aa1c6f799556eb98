// Every query the Firestore adapter runs needs a composite index in production
// (the emulator needs none, so only this test notices a missing one).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_COLLECTIONS, QUERY_SHAPES, type QueryShape } from '../../shared/store/firestore';
import { testRecord } from '../contracts/store/fixtures';

interface IndexField {
  fieldPath: string;
  order?: 'ASCENDING' | 'DESCENDING';
  arrayConfig?: string;
}
interface IndexFile {
  indexes: { collectionGroup: string; queryScope: string; fields: IndexField[] }[];
  fieldOverrides: {
    collectionGroup: string;
    fieldPath: string;
    ttl?: boolean;
    indexes: unknown[];
  }[];
}

const indexFile = JSON.parse(
  readFileSync(join(__dirname, '../../infra/gcp/firestore.indexes.json'), 'utf8'),
) as IndexFile;

const shapes = Object.entries(QUERY_SHAPES) as [string, QueryShape][];

/** Equality fields first (any order), then the sort field in its direction. */
function serves(index: IndexFile['indexes'][number], shape: QueryShape): boolean {
  if (index.collectionGroup !== DEFAULT_COLLECTIONS[shape.collection]) return false;
  if (index.queryScope !== 'COLLECTION' || index.fields.length !== shape.equals.length + 1)
    return false;
  const prefix = index.fields.slice(0, -1);
  const last = index.fields.at(-1)!;
  const equalityFields = shape.equals.map((e) => e.field).sort();
  return (
    prefix.every((f) => f.order !== undefined) &&
    JSON.stringify(prefix.map((f) => f.fieldPath).sort()) === JSON.stringify(equalityFields) &&
    last.fieldPath === shape.orderBy.field &&
    last.order === (shape.orderBy.direction === 'asc' ? 'ASCENDING' : 'DESCENDING')
  );
}

describe('infra/gcp/firestore.indexes.json', () => {
  // A query with no equality filter is served by Firestore's automatic single-field index.
  const composite = shapes.filter(([, shape]) => shape.equals.length > 0);
  const singleField = shapes.filter(([, shape]) => shape.equals.length === 0);

  it.each(composite)('has a composite index for the %s query', (_name, shape) => {
    expect(indexFile.indexes.filter((index) => serves(index, shape))).toHaveLength(1);
  });

  it.each(singleField)('keeps the single-field index the %s query sorts by', (_name, shape) => {
    const override = indexFile.fieldOverrides.find(
      (o) =>
        o.collectionGroup === DEFAULT_COLLECTIONS[shape.collection] &&
        o.fieldPath === shape.orderBy.field,
    );
    // An override with an empty list would switch the automatic index off.
    expect(override === undefined || override.indexes.length > 0).toBe(true);
  });

  it('declares no index that no query uses', () => {
    const unused = indexFile.indexes.filter((index) => !shapes.some(([, s]) => serves(index, s)));
    expect(unused).toEqual([]);
  });

  it('queries only fields that a test document has, nested ones (a.b) included', () => {
    const test = testRecord({
      id: 'x',
      deletion: {
        name: 'vm',
        zone: 'z',
        requestedAt: new Date(0),
        attempts: 0,
        doneAt: null,
        nextCheckAt: null,
      },
    });
    const has = (path: string): boolean => {
      let value: unknown = test;
      for (const key of path.split('.')) {
        if (typeof value !== 'object' || value === null || !(key in value)) return false;
        value = (value as Record<string, unknown>)[key];
      }
      return true;
    };
    for (const [, shape] of shapes) {
      for (const field of [...shape.equals.map((e) => e.field), shape.orderBy.field]) {
        expect([field, has(field)]).toEqual([field, true]);
      }
    }
  });

  it('lets TTL delete delivery records after expireAt, without indexing that field', () => {
    expect(indexFile.fieldOverrides).toContainEqual({
      collectionGroup: DEFAULT_COLLECTIONS.deliveries,
      fieldPath: 'expireAt',
      ttl: true,
      indexes: [],
    });
  });
});
