// The CommitStatusPort contract: one suite that every adapter must pass
// (test/github/status-port.test.ts runs it on the in-memory double and on the
// Octokit adapter against the local GitHub stand-in).
import { fitStatusLine } from '../../shared/domain/messages';
import type { CommitStatusPort, StatusToPost } from '../../shared/github/statuses';

export interface VisibleStatus {
  state: string;
  context: string;
  description: string | null;
  targetUrl: string | null;
}

export interface StatusPortUnderTest {
  port: CommitStatusPort;
  /** The `attempts` and `budgetMs` the port was made with. */
  attempts: number;
  budgetMs: number;
  /** The commit's statuses as GitHub would list them, newest first. */
  visible(repo: string, sha: string): VisibleStatus[];
  /** Tries that reached the backend, failed ones included. */
  tries(): number;
  /** The next `count` tries fail with HTTP `status` (403/429 with `retryAfterSeconds`). */
  fail(fault: { status: number; count: number; retryAfterSeconds?: number }): void;
  /** The waits between tries, in ms (none for a double that does not wait). */
  waits(): number[];
  cleanup(): Promise<void>;
}

export type MakeStatusPort = () => Promise<StatusPortUnderTest>;

const REPO = 'octo-org/hello';
const SHA = 'b'.repeat(39) + '2';
const STATUS: StatusToPost = {
  state: 'pending',
  context: 'ci/linux',
  description: 'Running tests',
  targetUrl: 'https://ci.example.com/status/tests/t1',
};

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export function defineStatusPortContractTests(makePort: MakeStatusPort): void {
  let current: StatusPortUnderTest | undefined;
  beforeEach(async () => {
    current = await makePort();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const sut = (): StatusPortUnderTest => {
    if (!current) throw new Error('no port under test');
    return current;
  };

  describe('CommitStatusPort contract', () => {
    it('posts a status that then shows on the commit', async () => {
      const { port, visible, tries } = sut();

      await expect(port.post(REPO, SHA, STATUS)).resolves.toEqual({ ok: true });

      expect(visible(REPO, SHA)).toEqual([
        {
          state: 'pending',
          context: 'ci/linux',
          description: 'Running tests',
          targetUrl: STATUS.targetUrl,
        },
      ]);
      expect(tries()).toBe(1);
    });

    it('lists a commit’s statuses newest first, one per post', async () => {
      const { port, visible } = sut();

      await port.post(REPO, SHA, STATUS);
      await port.post(REPO, SHA, { ...STATUS, state: 'success', description: 'All tests passed' });

      expect(visible(REPO, SHA).map((s) => [s.state, s.description])).toEqual([
        ['success', 'All tests passed'],
        ['pending', 'Running tests'],
      ]);
      expect(visible(REPO, 'd'.repeat(40))).toEqual([]);
    });

    it('sends the description as one line of at most 140 characters', async () => {
      const { port, visible } = sut();
      const long = `Tests failed:\n${'x'.repeat(200)}`;

      await expect(port.post(REPO, SHA, { ...STATUS, description: long })).resolves.toEqual({
        ok: true,
      });

      const [shown] = visible(REPO, SHA);
      expect(shown?.description).toBe(fitStatusLine(long));
      expect([...(shown?.description ?? '')].length).toBeLessThanOrEqual(140);
    });

    it('retries a 502 and succeeds', async () => {
      const { port, visible, tries, fail } = sut();
      fail({ status: 502, count: 1 });

      await expect(port.post(REPO, SHA, STATUS)).resolves.toEqual({ ok: true });

      expect(tries()).toBe(2);
      expect(visible(REPO, SHA)).toHaveLength(1);
    });

    it('answers a commit GitHub does not know with ok:false, not retriable, after one try', async () => {
      const { port, visible, tries } = sut();

      const result = await port.post(REPO, 'abc1234', STATUS);

      expect(result).toEqual({
        ok: false,
        retriable: false,
        httpStatus: 422,
        detail: expect.stringContaining('No commit found for SHA'),
      });
      expect(tries()).toBe(1);
      expect(visible(REPO, 'abc1234')).toEqual([]);
    });

    it.each([422, 404])('does not retry an HTTP %i', async (status) => {
      const { port, visible, tries, fail } = sut();
      fail({ status, count: 1 });

      const result = await port.post(REPO, SHA, STATUS);

      expect(result).toMatchObject({ ok: false, retriable: false, httpStatus: status });
      expect(tries()).toBe(1);
      expect(visible(REPO, SHA)).toEqual([]);
    });

    it('gives up on a persistent 502 after `attempts` tries, within the budget', async () => {
      const { port, visible, tries, fail, attempts, budgetMs, waits } = sut();
      fail({ status: 502, count: attempts + 5 });
      const started = Date.now();

      const result = await port.post(REPO, SHA, STATUS);

      expect(result).toMatchObject({ ok: false, retriable: true, httpStatus: 502 });
      expect(tries()).toBe(attempts);
      expect(visible(REPO, SHA)).toEqual([]);
      expect(sum(waits()) + (Date.now() - started)).toBeLessThanOrEqual(budgetMs);
    });

    it('retries a secondary rate limit (403 with retry-after)', async () => {
      const { port, visible, tries, fail, waits, budgetMs } = sut();
      fail({ status: 403, count: 1, retryAfterSeconds: 1 });

      await expect(port.post(REPO, SHA, STATUS)).resolves.toEqual({ ok: true });

      expect(tries()).toBe(2);
      expect(visible(REPO, SHA)).toHaveLength(1);
      expect(sum(waits())).toBeLessThanOrEqual(budgetMs);
    });

    it('never rejects, even for a repository that is not "owner/name"', async () => {
      const { port, visible } = sut();

      const result = await port.post('not-a-repo', SHA, STATUS);

      expect(result).toMatchObject({ ok: false, retriable: false });
      expect(visible('not-a-repo', SHA)).toEqual([]);
    });
  });
}
