// The PrCommentPort contract for what a /retest answer uses: a reaction to
// someone's comment (once per content, retried, a 404 for a comment that is
// gone) and one reply (tried once). test/github/comment-port.test.ts runs it
// on the in-memory double and on the Octokit adapter against the local GitHub.
import type { PrCommentPort } from '../../shared/github/comments';

export interface CommentPortUnderTest {
  port: PrCommentPort;
  /** A comment by `author` on PR `pr`; returns its id. */
  seedComment(repo: string, pr: number, body: string, author: string): number;
  /** vm-ci's reactions to the comment, oldest first. */
  reactions(repo: string, commentId: number): string[];
  /** The bodies of the PR's comments, oldest first. */
  bodies(repo: string, pr: number): string[];
  /** The next `count` tries of `method` fail with HTTP `status`. */
  fail(fault: { method: 'GET' | 'POST' | 'PATCH'; status: number; count: number }): void;
  cleanup(): Promise<void>;
}

export type MakeCommentPort = () => Promise<CommentPortUnderTest>;

const REPO = 'octo-org/hello';

export function defineCommentPortContractTests(makePort: MakeCommentPort): void {
  let current: CommentPortUnderTest | undefined;
  beforeEach(async () => {
    current = await makePort();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const sut = (): CommentPortUnderTest => {
    if (!current) throw new Error('no port under test');
    return current;
  };

  describe('PrCommentPort contract (reactions and replies)', () => {
    it('reacts once per content: the same reaction again is the one made before', async () => {
      const { port, seedComment, reactions } = sut();
      const id = seedComment(REPO, 7, '/retest', 'maintainer');

      const rocket = await port.react(REPO, id, 'rocket');
      const again = await port.react(REPO, id, 'rocket');
      const confused = await port.react(REPO, id, 'confused');

      expect(rocket).toEqual({
        ok: true,
        value: { id: expect.any(Number), content: 'rocket', created: true },
      });
      expect(again).toEqual({
        ok: true,
        value: { id: rocket.ok ? rocket.value.id : -1, content: 'rocket', created: false },
      });
      expect(confused).toMatchObject({ ok: true, value: { content: 'confused', created: true } });
      expect(reactions(REPO, id)).toEqual(['rocket', 'confused']);
    });

    it('a comment that is not there (or of another repository) is a 404, not retried', async () => {
      const { port, seedComment, reactions } = sut();
      const id = seedComment(REPO, 7, '/retest', 'maintainer');

      await expect(port.react(REPO, id + 1000, 'rocket')).resolves.toMatchObject({
        ok: false,
        retriable: false,
        httpStatus: 404,
      });
      await expect(port.react('octo-org/other', id, 'rocket')).resolves.toMatchObject({
        ok: false,
        httpStatus: 404,
      });
      expect(reactions(REPO, id)).toEqual([]);
    });

    it('retries a reaction after a 502, and reacts once', async () => {
      const { port, seedComment, reactions, fail } = sut();
      const id = seedComment(REPO, 7, '/retest', 'maintainer');
      fail({ method: 'POST', status: 502, count: 1 });

      await expect(port.react(REPO, id, 'rocket')).resolves.toMatchObject({
        ok: true,
        value: { content: 'rocket', created: true },
      });
      expect(reactions(REPO, id)).toEqual(['rocket']);
    });

    it('posts a reply once: a 502 is not retried (a lost answer may hide a comment)', async () => {
      const { port, seedComment, bodies, fail } = sut();
      seedComment(REPO, 7, '/retest mac', 'maintainer');
      fail({ method: 'POST', status: 502, count: 1 });

      await expect(port.create(REPO, 7, 'first try')).resolves.toMatchObject({
        ok: false,
        httpStatus: 502,
      });
      await expect(port.create(REPO, 7, 'Unknown platform')).resolves.toEqual({
        ok: true,
        value: { id: expect.any(Number), body: 'Unknown platform' },
      });
      expect(bodies(REPO, 7)).toEqual(['/retest mac', 'Unknown platform']);
    });
  });
}
