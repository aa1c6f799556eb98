// Keeps vm-ci's one comment on a pull request current (issue 14, item 6):
// called when a PR test's final status was posted. One writer at a time per
// PR (a lease), so two platforms ending together never post two comments;
// the writer reads the PR's tests again after each write and writes again if
// they moved on, so an end that found the lease taken is still shown. A
// comment of a newer head is never overwritten by an older head's. Never
// throws: the comment is a courtesy, the commit status is the record.
import { createHash, randomBytes } from 'node:crypto';
import type { TestRecord } from '../domain/test';
import type { Logger } from '../log';
import type { TestStore } from '../store/port';
import type { PrCommentPort } from './comments';
import { commentHead, PR_COMMENT_MARKER, prCommentBody } from './pr-comment-body';

export interface PrCommentDeps {
  comments: PrCommentPort;
  store: Pick<TestStore, 'listBySha' | 'takeLease' | 'releaseLease'>;
  log: Logger;
  now: () => Date;
  /** Whether the repository has the comment turned on (config `prComment`). */
  enabled(repo: string): boolean;
  /** A test's status page. */
  pageOf(testId: string): string;
}

const LEASE_MS = 60_000;
const ROUNDS = 3;

export function prCommentLease(repo: string, pr: number): string {
  const hash = createHash('sha256').update(`${repo.toLowerCase()}#${pr}`).digest('hex');
  return `prcomment-${hash.slice(0, 40)}`;
}

export async function updatePrComment(deps: PrCommentDeps, test: TestRecord): Promise<void> {
  if (test.pr === null || !deps.enabled(test.repo)) return;
  const pr = test.pr;
  const log = deps.log.child({ testId: test.id, platform: test.platform });
  const lease = prCommentLease(test.repo, pr);
  const holder = randomBytes(8).toString('hex');
  try {
    const at = deps.now();
    const taken = await deps.store.takeLease(lease, holder, at, new Date(at.getTime() + LEASE_MS));
    // The holder reads the tests again after its write, so this end is shown by it.
    if (!taken.taken) return;
    try {
      let written: string | null = null;
      for (let round = 0; round < ROUNDS; round++) {
        const tests = (await deps.store.listBySha(test.repo, test.sha)).filter((t) => t.pr === pr);
        const body = prCommentBody(tests, deps.pageOf);
        if (body === written) return;
        const outcome = await write(deps, test.repo, pr, body);
        if (outcome !== 'written') {
          log.info('PR comment not written', { pr, outcome });
          return;
        }
        written = body;
      }
    } finally {
      await deps.store.releaseLease(lease, holder);
    }
  } catch (error) {
    log.warn('PR comment not updated', { pr, error });
  }
}

/** Edits vm-ci's comment (or creates the first one) unless it shows a newer head or this body. */
async function write(
  deps: PrCommentDeps,
  repo: string,
  pr: number,
  body: string,
): Promise<'written' | 'unchanged' | 'newer head shown' | 'failed'> {
  const found = await deps.comments.findMarked(repo, pr, PR_COMMENT_MARKER);
  if (!found.ok) return 'failed';
  const ours = commentHead(body)!;
  for (const comment of found.value) {
    const shown = commentHead(comment.body);
    if (shown && shown.updatedAt > ours.updatedAt) return 'newer head shown';
    if (comment.body === body) return 'unchanged';
    const updated = await deps.comments.update(repo, comment.id, body);
    if (updated.ok) return 'written';
    // Not ours (someone quoted the marker) or gone: try the next, else create.
    if (updated.httpStatus !== 403 && updated.httpStatus !== 404) return 'failed';
  }
  const created: Awaited<ReturnType<PrCommentPort['create']>> = await deps.comments.create(
    repo,
    pr,
    body,
  );
  return created.ok ? 'written' : 'failed';
}
