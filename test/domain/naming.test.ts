import fc from 'fast-check';
import {
  LABEL_VALUE_PATTERN,
  REQUEST_ID_NAMESPACE,
  approvalId,
  TASK_ID_PATTERN,
  VM_LABEL_KEYS,
  VM_NAME_MAX,
  VM_NAME_PATTERN,
  isValidFirestoreId,
  labelValue,
  requestId,
  taskId,
  testId,
  testLabel,
  uuidV5,
  vmLabels,
  deploymentLabel,
  vmName,
  type TestKey,
} from '../../shared/domain/naming';
import { PROVISIONING_MODELS, TRIGGERS } from '../../shared/domain/test';

// --- arbitraries ---------------------------------------------------------------

const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
// GitHub owners: letters, digits, hyphens; repository names add `.` and `_`.
const owner = fc.string({ unit: chars(`${ALNUM}-`), minLength: 1, maxLength: 39 });
const repoName = fc.oneof(
  fc.string({ unit: chars(`${ALNUM}-._`), minLength: 1, maxLength: 100 }),
  fc.constantFrom('a.b-c_d', '.github', '___', '...', '-', 'a--b', 'A.B'),
);
const repo = fc.tuple(owner, repoName).map(([o, n]) => `${o}/${n}`);
const sha = fc.string({ unit: chars('0123456789abcdef'), minLength: 40, maxLength: 40 });
const platform = fc.stringMatching(/^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/);
const count = fc.oneof(fc.nat({ max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER));
const key: fc.Arbitrary<TestKey> = fc.record({
  repo,
  sha,
  platform,
  trigger: fc.constantFrom(...TRIGGERS),
  pr: fc.option(
    fc.oneof(fc.integer({ min: 1, max: 2 ** 31 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    {
      nil: null,
    },
  ),
  run: count,
});
// Ids as testId makes them, plus hand-made ones that only just satisfy the task-name alphabet.
const anyTestId = fc.oneof(
  key.map(testId),
  fc.string({ unit: chars(`${ALNUM}_-`), minLength: 1, maxLength: 120 }),
);
const zone = fc.constantFrom('us-central1-a', 'us-central1-b', 'europe-west4-c');
const provisioning = fc.constantFrom(...PROVISIONING_MODELS);
const SHA = '0123456789abcdef0123456789abcdef01234567';

const base: TestKey = {
  repo: 'CCExtractor/ccextractor',
  sha: SHA,
  platform: 'linux',
  trigger: 'pull_request',
  pr: 1234,
  run: 1,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function expectDistinct<T>(inputs: readonly T[], name: (input: T) => string): void {
  expect(new Set(inputs.map(name)).size).toBe(inputs.length);
}

// Unique inputs, compared by a canonical key.
const uniqueKeys = fc.uniqueArray(key, {
  minLength: 2,
  maxLength: 40,
  selector: (k) => JSON.stringify([k.repo, k.sha, k.platform, k.trigger, k.pr, k.run]),
});

// --- testId ---------------------------------------------------------------------

describe('testId', () => {
  it('is readable', () => {
    expect(testId(base)).toMatch(
      /^ccextractor-ccextractor-0123456-linux-pull-pr1234-r1-[0-9a-f]{16}$/,
    );
    expect(testId({ ...base, trigger: 'push', pr: null, run: 3 })).toMatch(
      /^ccextractor-ccextractor-0123456-linux-push-r3-[0-9a-f]{16}$/,
    );
    expect(testId({ ...base, repo: 'a.b-c_d/.github', trigger: 'manual', pr: undefined })).toMatch(
      /^a-b-c-d-github-0123456-linux-manual-r1-[0-9a-f]{16}$/,
    );
  });

  it('is a valid Firestore id and Cloud Task name part, at most 123 characters', () => {
    fc.assert(
      fc.property(key, (k) => {
        const id = testId(k);
        expect(isValidFirestoreId(id)).toBe(true);
        expect(id).toMatch(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
        expect(id.length).toBeLessThanOrEqual(123);
        expect(id).toContain(`-${k.sha.slice(0, 7)}-`);
        expect(id).toContain(`-${k.platform}-`);
      }),
    );
  });

  it('reaches its longest form only with the largest numbers', () => {
    const longest = testId({
      repo: `${'o'.repeat(40)}/${'n'.repeat(100)}`,
      sha: SHA,
      platform: 'p'.repeat(20),
      trigger: 'manual',
      pr: Number.MAX_SAFE_INTEGER,
      run: Number.MAX_SAFE_INTEGER,
    });
    expect(longest).toHaveLength(123);
  });

  it('is deterministic', () => {
    fc.assert(fc.property(key, (k) => expect(testId({ ...k })).toBe(testId(k))));
  });

  it('never collides for different inputs', () => {
    fc.assert(fc.property(uniqueKeys, (keys) => expectDistinct(keys, testId)));
  });

  it.each<[string, Partial<TestKey>, Partial<TestKey>]>([
    ['slugs collide across the slash', { repo: 'a-b/c' }, { repo: 'a/b-c' }],
    ['punctuation slugs alike', { repo: 'a.b/c' }, { repo: 'a-b/c' }],
    ['underscore vs dot', { repo: 'o/a_b' }, { repo: 'o/a.b' }],
    ['case differs', { repo: 'Owner/Repo' }, { repo: 'owner/repo' }],
    [
      'long names share the trimmed part',
      { repo: `o/${'x'.repeat(60)}1` },
      { repo: `o/${'x'.repeat(60)}2` },
    ],
    [
      'long owners share the trimmed part',
      { repo: `${'y'.repeat(30)}1/r` },
      { repo: `${'y'.repeat(30)}2/r` },
    ],
    ['shas share the first 7 characters', { sha: SHA }, { sha: `${SHA.slice(0, 39)}8` }],
    ['platforms slug alike', { platform: 'linux-arm' }, { platform: 'linux--arm' }],
    ['pr vs no pr', { pr: 12 }, { pr: null }],
    ['run numbers', { run: 1 }, { run: 11 }],
    ['pr 1 run 11 vs pr 11 run 1', { pr: 1, run: 11 }, { pr: 11, run: 1 }],
    ['triggers', { trigger: 'push', pr: null }, { trigger: 'manual', pr: null }],
  ])('tells apart %s', (_why, a, b) => {
    expect(testId({ ...base, ...a })).not.toBe(testId({ ...base, ...b }));
  });

  it.each([
    { run: -1 },
    { run: 1.5 },
    { run: Number.NaN },
    { pr: 0.5 },
    { pr: Number.POSITIVE_INFINITY },
  ])('rejects a bad count %p', (bad) => {
    expect(() => testId({ ...base, ...bad })).toThrow(RangeError);
  });
});

describe('approvalId', () => {
  const SHA = '0123abc456def7890123abc456def7890123abcd';

  it('reads as the repository, PR and commit, and is a valid Firestore id', () => {
    const id = approvalId('CCExtractor/ccextractor', 12, SHA);
    expect(id).toMatch(/^ccextractor-ccextractor-pr12-0123abc-[0-9a-f]{16}$/);
    expect(isValidFirestoreId(id)).toBe(true);
    expect(approvalId('CCExtractor/ccextractor', 12, SHA)).toBe(id);
  });

  it('differs for another repository, PR or commit, even where the readable parts collide', () => {
    const ids = [
      approvalId('a-b/c', 1, SHA),
      approvalId('a/b-c', 1, SHA),
      approvalId('a/b-c', 2, SHA),
      approvalId('a/b-c', 1, `${SHA.slice(0, 39)}e`),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each([-1, 1.5, Number.NaN])('rejects a bad PR number %p', (pr) => {
    expect(() => approvalId('o/r', pr, SHA)).toThrow(RangeError);
  });
});

describe('isValidFirestoreId', () => {
  it.each([
    ['', false],
    ['.', false],
    ['..', false],
    ['a/b', false],
    ['__x__', false],
    ['__', true],
    ['____', false],
    ['x'.repeat(1501), false],
    ['é'.repeat(751), false],
    ['x'.repeat(1500), true],
    ['_x_', true],
    ['...', true],
    ['ccextractor-ccextractor-0123456-linux-push-r1-0123456789abcdef', true],
  ])('%p → %p', (id, valid) => {
    expect(isValidFirestoreId(id)).toBe(valid);
  });
});

// --- taskId ---------------------------------------------------------------------

describe('taskId', () => {
  it('puts a hash first, then what the task is for, and keeps the test id readable', () => {
    const id = testId(base);
    expect(taskId(id, 0)).toMatch(new RegExp(`^[0-9a-f]{8}-run-${id}-g0$`));
    expect(taskId(id, 7, 'run')).toMatch(new RegExp(`^[0-9a-f]{8}-run-${id}-g7$`));
    expect(taskId(id, 7, 'delete-vm')).toMatch(new RegExp(`^[0-9a-f]{8}-delete-vm-${id}-g7$`));
    // The queue view reads: repository, commit, platform.
    expect(taskId(id, 1)).toContain(`-run-ccextractor-ccextractor-${base.sha.slice(0, 7)}-linux-`);
  });

  it('tells a run task from a VM deletion of the same generation', () => {
    const id = testId(base);
    expect(taskId(id, 3, 'delete-vm')).not.toBe(taskId(id, 3, 'run'));
  });

  it('is a valid task id and deterministic', () => {
    fc.assert(
      fc.property(anyTestId, count, (id, generation) => {
        const name = taskId(id, generation);
        expect(name).toMatch(TASK_ID_PATTERN);
        expect(taskId(id, generation)).toBe(name);
      }),
    );
  });

  it('is distinct per (test id, generation)', () => {
    const pairs = fc.uniqueArray(fc.tuple(anyTestId, count), {
      minLength: 2,
      maxLength: 40,
      selector: ([id, g]) => `${id}\u0000${g}`,
    });
    fc.assert(fc.property(pairs, (ps) => expectDistinct(ps, ([id, g]) => taskId(id, g))));
  });

  it('tells apart ids that look like generations', () => {
    expect(taskId('a-g1', 2)).not.toBe(taskId('a', 12));
    expect(taskId('a-g1', 2)).not.toBe(taskId('a-g12', 2));
    expect(taskId('a', 1)).not.toBe(taskId('a', 10));
  });

  it('spreads task names over the keyspace instead of sharing a prefix', () => {
    const id = testId(base);
    const prefixes = new Set(Array.from({ length: 50 }, (_, g) => taskId(id, g).slice(0, 2)));
    expect(prefixes.size).toBeGreaterThan(20);
  });

  it.each([
    ['a/b', 0],
    ['', 0],
    ['a.b', 0],
    ['x'.repeat(490), 0],
    ['abc', -1],
    ['abc', 1.5],
  ])('rejects (%p, %p)', (id, generation) => {
    expect(() => taskId(id, generation)).toThrow(RangeError);
  });
});

// --- vmName -----------------------------------------------------------------------

describe('vmName', () => {
  it('is readable', () => {
    expect(vmName('windows', testId(base), 3)).toMatch(
      /^vmci-windows-ccextractor-ccextractor-[a-z0-9-]*a3-[0-9a-f]{16}$/,
    );
  });

  it('is a valid Compute name beginning with vmci-<platform>-', () => {
    fc.assert(
      fc.property(platform, anyTestId, count, (p, id, attempt) => {
        const name = vmName(p, id, attempt);
        expect(name).toMatch(VM_NAME_PATTERN);
        expect(name.length).toBeLessThanOrEqual(VM_NAME_MAX);
        expect(name.startsWith(`vmci-${p}-`)).toBe(true);
        expect(name).toMatch(new RegExp(`-a${attempt}-[0-9a-f]{16}$`));
        expect(vmName(p, id, attempt)).toBe(name);
      }),
    );
  });

  it('fits the longest platform, a long id and the largest attempt', () => {
    const name = vmName('p'.repeat(20), 'x'.repeat(200), Number.MAX_SAFE_INTEGER);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(VM_NAME_PATTERN);
  });

  it('is distinct for distinct (platform, test id, attempt)', () => {
    const inputs = fc.uniqueArray(fc.tuple(platform, anyTestId, count), {
      minLength: 2,
      maxLength: 40,
      selector: (t) => JSON.stringify(t),
    });
    fc.assert(fc.property(inputs, (ts) => expectDistinct(ts, ([p, id, a]) => vmName(p, id, a))));
  });

  it('tells apart test ids that share their readable start', () => {
    const long = 'x'.repeat(80);
    expect(vmName('linux', `${long}1`, 1)).not.toBe(vmName('linux', `${long}2`, 1));
    expect(vmName('linux', 'a-b', 1)).not.toBe(vmName('linux', 'a--b', 1));
    expect(vmName('linux', 'id', 1)).not.toBe(vmName('linux', 'id', 2));
  });

  it('rejects a bad attempt', () => {
    expect(() => vmName('linux', 'id', -1)).toThrow(RangeError);
  });
});

// --- requestId ---------------------------------------------------------------------

describe('requestId', () => {
  it('implements RFC 4122 version 5', () => {
    const DNS = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';
    expect(uuidV5('python.org', DNS)).toBe('886313e1-3b8a-5372-9b90-0c9aee199e5d');
    expect(uuidV5('www.example.com', DNS)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
    expect(REQUEST_ID_NAMESPACE).toMatch(UUID);
  });

  it('is a version-5 UUID, never all zeros, and deterministic', () => {
    fc.assert(
      fc.property(anyTestId, count, zone, provisioning, (id, attempt, z, p) => {
        const uuid = requestId(id, attempt, z, p);
        expect(uuid).toMatch(UUID);
        expect(uuid).not.toBe('00000000-0000-0000-0000-000000000000');
        expect(requestId(id, attempt, z, p)).toBe(uuid);
      }),
    );
  });

  it('is distinct per (test id, attempt, zone, provisioning)', () => {
    const inputs = fc.uniqueArray(fc.tuple(anyTestId, count, zone, provisioning), {
      minLength: 2,
      maxLength: 40,
      selector: (t) => JSON.stringify(t),
    });
    fc.assert(
      fc.property(inputs, (ts) => expectDistinct(ts, ([id, a, z, p]) => requestId(id, a, z, p))),
    );
  });

  it('changes with a zone or provisioning fallback', () => {
    const id = testId(base);
    const ids = new Set([
      requestId(id, 1, 'us-central1-a', 'SPOT'),
      requestId(id, 1, 'us-central1-b', 'SPOT'),
      requestId(id, 1, 'us-central1-a', 'STANDARD'),
      requestId(id, 2, 'us-central1-a', 'SPOT'),
    ]);
    expect(ids.size).toBe(4);
  });
});

// --- labels -----------------------------------------------------------------------

describe('labels', () => {
  it.each([
    ['linux', 'linux'],
    ['Windows-2022', 'windows-2022'],
    ['a.b/c d', 'a-b-c-d'],
    ['under_score', 'under_score'],
    ['x'.repeat(100), 'x'.repeat(63)],
    ['', ''],
  ])('labelValue(%p) → %p', (text, expected) => {
    expect(labelValue(text)).toBe(expected);
  });

  it('labelValue always gives a valid label value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(labelValue(s)).toMatch(LABEL_VALUE_PATTERN);
      }),
    );
  });

  it('vmLabels marks the VM as ours and names its test and platform', () => {
    const id = testId(base);
    const labels = vmLabels('linux', id);
    expect(labels).toEqual({
      vmci: 'true',
      'vmci-test': testLabel(id),
      'vmci-platform': 'linux',
    });
    expect(labels['vmci-test']).toMatch(
      /^ccextractor-ccextractor-0123456-linux-pull-[a-z0-9-]*[0-9a-f]{16}$/,
    );
  });

  it('keys and values are valid GCE labels', () => {
    fc.assert(
      fc.property(platform, anyTestId, (p, id) => {
        const labels = vmLabels(p, id, deploymentLabel(`https://${p}.example.com`));
        expect(Object.keys(labels).sort()).toEqual(Object.values(VM_LABEL_KEYS).sort());
        for (const [k, v] of Object.entries(labels)) {
          expect(k).toMatch(/^[a-z][a-z0-9_-]{0,62}$/);
          expect(v).toMatch(LABEL_VALUE_PATTERN);
          expect(v.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('the deployment label tells public URLs apart, a trailing slash aside', () => {
    const a = deploymentLabel('https://europe-west1-ci.cloudfunctions.net');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(deploymentLabel('https://europe-west1-ci.cloudfunctions.net/')).toBe(a);
    expect(deploymentLabel('https://us-central1-ci.cloudfunctions.net')).not.toBe(a);
    expect(vmLabels('linux', 't1')).not.toHaveProperty('vmci-deployment');
  });

  it('the test label is distinct per test id, even when ids share 63 characters', () => {
    const long = `${testId(base)}-${'z'.repeat(40)}`;
    expect(testLabel(`${long}a`)).not.toBe(testLabel(`${long}b`));
    expect(testLabel('A')).not.toBe(testLabel('a'));
    fc.assert(
      fc.property(fc.uniqueArray(anyTestId, { minLength: 2, maxLength: 40 }), (ids) =>
        expectDistinct(ids, testLabel),
      ),
    );
  });
});
