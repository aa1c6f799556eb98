// vmci tests, show and queue, and its usage errors, against a local cloud whose
// queue is paused: the tests a signed push made stay queued where the webhook
// put them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TESTS_QUEUED } from '../../shared/domain/messages';
import { LOCAL_CONFIG_PATH } from '../support/local-cloud';
import {
  idOf,
  idsOf,
  pushPayload,
  REPO,
  send,
  shaOf,
  useWebhookCloud,
} from '../functions/webhook-support';
import { runCli, useCli } from './cli-support';

jest.setTimeout(60_000);

const h = useWebhookCloud({ functions: ['webhook', 'status'], fresh: 'once' });
const vmci = useCli(h);

const A = shaOf('cli-list-a');
const B = shaOf('cli-list-b');

/** The table's rows (without its header), by their first column (the test id). */
const idsIn = (lines: string[]) => lines.slice(1).map((line) => line.split(/\s+/)[0]);

beforeAll(async () => {
  for (const sha of [A, B]) {
    const answer = await send(h.cloud, 'push', pushPayload(sha));
    expect(answer.status).toBe(202);
    // Apart in time, so that B's tests are the newer ones.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

describe('vmci tests', () => {
  it('lists the newest tests first, one row each, with what people see', async () => {
    const { code, out, err } = await vmci('tests');

    expect({ code, err }).toEqual({ code: 0, err: [] });
    expect(out[0]).toMatch(/^ID +REPO +SHA +PLATFORM +STATE +AGE +MESSAGE$/);
    const ids = idsIn(out);
    expect(ids).toHaveLength(4);
    expect(ids.slice(0, 2).sort()).toEqual(idsOf(B).sort());
    expect(ids.slice(2).sort()).toEqual(idsOf(A).sort());
    const row = out.find((line) => line.startsWith(idOf(A, 'windows')))!;
    expect(row.split(/\s{2,}/)).toEqual([
      idOf(A, 'windows'),
      REPO,
      A.slice(0, 7),
      'windows',
      'queued',
      expect.stringMatching(/^\d+s$/),
      TESTS_QUEUED,
    ]);
  });

  it.each([
    [
      ['--platform', 'linux'],
      [idOf(B, 'linux'), idOf(A, 'linux')],
    ],
    [['--sha', A.slice(0, 7)], idsOf(A)],
    [['--repo', REPO.toLowerCase(), '--sha', B], idsOf(B)],
    [['--state', 'queued', '--platform', 'windows', '--limit', '1'], [idOf(B, 'windows')]],
  ])('filters: %j', async (args, expected) => {
    const { code, out } = await vmci('tests', ...args);

    expect(code).toBe(0);
    expect(idsIn(out).sort()).toEqual([...expected].sort());
  });

  it('says so on stderr when nothing matches', async () => {
    expect(await vmci('tests', '--state', 'running')).toEqual({
      code: 0,
      out: [],
      err: ['no tests found'],
    });
  });

  it('--json: the status API’s views, details shown', async () => {
    const { code, out } = await vmci('tests', '--json', '--sha', A);

    expect(code).toBe(0);
    const views = JSON.parse(out.join('\n')) as Record<string, unknown>[];
    expect(views.map((v) => v.id).sort()).toEqual(idsOf(A).sort());
    for (const view of views) {
      expect(view).toMatchObject({
        repo: REPO,
        sha: A,
        ref: 'refs/heads/master',
        status: 'queued',
        detailsHidden: false,
        message: TESTS_QUEUED,
      });
      // Stored queued by the webhook (the queue is paused here).
      expect(view.timeline).toEqual([expect.objectContaining({ status: 'queued' })]);
    }
  });

  it('cuts the message to the terminal’s width', async () => {
    const wide = await vmci('tests', '--limit', '1');
    // The message keeps 10 characters at least: "Tests queued" is cut by two.
    const width = wide.out[1]!.length - TESTS_QUEUED.length + 10;
    const narrow = await vmci.columns(width)('tests', '--limit', '1');

    expect(narrow.out[1]).toHaveLength(width);
    expect(narrow.out[1]).toMatch(/ {2}Tests que…$/);
  });
});

describe('vmci show', () => {
  it('tells one test’s state, title, commit, VM and timeline', async () => {
    const id = idOf(A, 'linux');
    const { code, out } = await vmci('show', id);

    expect(code).toBe(0);
    expect(out[0]).toBe(id);
    expect(out).toEqual(
      expect.arrayContaining([
        `state     queued: ${TESTS_QUEUED}`,
        `repo      ${REPO}`,
        // The example push's head commit message.
        'title     Initial commit',
        expect.stringMatching(new RegExp(`^commit    ${A}  refs/heads/master`)),
        'trigger   push, run 1',
        'VM        -',
        'timeline',
      ]),
    );
    const timeline = out.slice(out.indexOf('timeline') + 1);
    expect(timeline).toEqual([
      expect.stringMatching(/^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}queued +Tests queued$/),
    ]);
  });

  it('--json: the status API’s view of it', async () => {
    const id = idOf(B, 'windows');
    const { code, out } = await vmci('show', id, '--json');

    expect(code).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({
      id,
      sha: B,
      platform: 'windows',
      status: 'queued',
      detailsHidden: false,
    });
  });

  it('an unknown test: one line, exit 1', async () => {
    expect(await vmci('show', 'no-such-test')).toEqual({
      code: 1,
      out: [],
      err: ['vmci show: No test no-such-test: list the tests with `vmci tests`'],
    });
  });
});

describe('vmci queue', () => {
  it('counts each platform’s tests, slots and maintenance, and the queue’s tasks', async () => {
    const { code, out } = await vmci('queue');

    expect(code).toBe(0);
    expect(out[0]).toMatch(
      /^PLATFORM +WAITING +PENDING +QUEUED +STARTING +RUNNING +SLOTS +MAINTENANCE +OLDEST WAIT$/,
    );
    expect(out[1]).toMatch(/^linux +0 +0 +2 +0 +0 +0\/2 +off +\d+s$/);
    expect(out[2]).toMatch(/^windows +0 +0 +2 +0 +0 +0\/1 +off +\d+s$/);
    expect(out[3]).toBe(`Cloud Tasks queue ${h.cloud.config.queue.name}: 4 tasks`);

    const json = await vmci('queue', '--json');
    const parsed = JSON.parse(json.out.join('\n')) as {
      platforms: { platform: string; counts: Record<string, number>; maxConcurrent: number }[];
      queue: { tasks: number; complete: boolean };
    };
    expect(parsed.queue).toEqual({ name: h.cloud.config.queue.name, tasks: 4, complete: true });
    expect(parsed.platforms.map((p) => [p.platform, p.counts.queued, p.maxConcurrent])).toEqual([
      ['linux', 2, 2],
      ['windows', 2, 1],
    ]);
  });
});

describe('usage and help', () => {
  it.each([
    [['frobnicate'], /^vmci: unknown command 'frobnicate': see `vmci --help`$/],
    [['tests', '--bogus'], /^vmci tests: Unknown option '--bogus': see `vmci tests --help`$/],
    [['tests', '--limit', '0'], /^vmci tests: --limit: expected a whole number from 1 to 1000/],
    [['tests', '--state', 'sleeping'], /^vmci tests: --state: expected one of waiting, pending/],
    [['tests', '--pr', '2'], /^vmci tests: --pr needs --repo$/],
    [['tests', '--repo', 'someone/else'], /^vmci tests: --repo someone\/else is not configured/],
    [['show'], /^vmci show: which test\?/],
    [['show', 'a', 'b'], /^vmci show: expected one test id, got 2: a b$/],
    [['cancel'], /^vmci cancel: cancel what\?/],
    [['cancel', 'x', '--pr', '2'], /^vmci cancel: cancel what\?/],
    [['cancel', '--sha', A], /^vmci cancel: --sha needs --repo$/],
    [['rerun', '--pr', '2'], /^vmci rerun: --pr needs --repo$/],
    [
      ['maintenance', 'linux', 'maybe'],
      /^vmci maintenance: expected `vmci maintenance <platform> on\|off`$/,
    ],
    [
      ['maintenance', 'macos', 'on'],
      /^vmci maintenance: platform: unknown platform 'macos': configured are linux, windows$/,
    ],
  ])('%j: one line, exit 2', async (argv, line) => {
    const { code, out, err } = await vmci(...argv);

    expect({ code, out }).toEqual({ code: 2, out: [] });
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(line);
  });

  it.each(['tests', 'show', 'cancel', 'rerun', 'queue', 'maintenance', 'doctor'])(
    '%s --help',
    async (name) => {
      const { code, out, err } = await vmci(name, '--help');

      expect({ code, err }).toEqual({ code: 0, err: [] });
      expect(out[0]).toMatch(new RegExp(`^usage: vmci ${name}\\b`));
    },
  );
});

describe('where it runs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vmci-cli-where-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('no local cloud and no project: one line that says what to do, exit 1', async () => {
    const env = { VMCI_LOCAL_STATE_FILE: join(dir, 'none.json'), VMCI_OPERATOR: 'x' };

    expect(await runCli(['tests'], env)).toEqual({
      code: 1,
      out: [],
      err: ['vmci tests: No local cloud found: start one with `npm start`, or pass --project'],
    });
  });

  it('the state file of an older npm start (no environment): restart it', async () => {
    const file = join(dir, 'old.json');
    writeFileSync(file, JSON.stringify({ url: h.cloud.url, webhookSecret: 's', pid: process.pid }));

    const run = await runCli(['tests'], { VMCI_LOCAL_STATE_FILE: file, VMCI_OPERATOR: 'x' });

    expect(run.code).toBe(1);
    expect(run.err).toEqual([
      expect.stringMatching(/No local cloud found: .*older than vmci: restart it\)$/),
    ]);
  });

  it.each([
    [['tests', '--project', 'p'], {}, /No configuration: pass --config <file>/],
    [
      ['tests', '--config', LOCAL_CONFIG_PATH, '--project', 'other'],
      {},
      /--project other is not the project of .* \(vmci-local\)/,
    ],
    [['tests', '--local', '--project', 'vmci-local'], {}, /--local talks to `npm start`/],
    [
      ['tests', '--config', LOCAL_CONFIG_PATH],
      { FIRESTORE_EMULATOR_HOST: '127.0.0.1:1' },
      /FIRESTORE_EMULATOR_HOST is set/,
    ],
  ])('a deployed project, wrongly asked for: %j, exit 2', async (argv, env, line) => {
    const run = await runCli(argv, {
      VMCI_OPERATOR: 'x',
      VMCI_LOCAL_STATE_FILE: join(dir, 'none.json'),
      ...env,
    });

    expect(run.code).toBe(2);
    expect(run.err).toEqual([expect.stringMatching(line)]);
  });

  it('a configuration with problems: the first one, how many more, exit 1', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'project: Not_A_Project\n');

    const run = await runCli(['tests', '--config', file], { VMCI_OPERATOR: 'x' });

    expect(run.code).toBe(1);
    expect(run.err).toEqual([
      expect.stringMatching(
        /^vmci tests: Invalid configuration in .*bad\.yaml: .+ \(and \d+ more\)$/,
      ),
    ]);
  });
});
