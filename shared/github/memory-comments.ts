// The in-memory double of the PR comment port: comments per PR, each with its
// author; editing another author's comment answers 403, as GitHub does.
// Reactions are kept once per content (vm-ci's own), and a reaction is retried
// up to `attempts` tries as the Octokit adapter retries it.
import type { PrComment, PrCommentPort, ReactionContent } from './comments';
import type { LookupResult } from './lookups';
import type { InjectedFailure } from './memory-statuses';

export interface MemoryComment extends PrComment {
  repo: string;
  pr: number;
  author: string;
  edits: number;
}

export interface MemoryReaction {
  id: number;
  repo: string;
  commentId: number;
  content: ReactionContent;
}

export interface MemoryCommentPort extends PrCommentPort {
  /** Every comment of the PR, oldest first. */
  comments(repo: string, pr: number): MemoryComment[];
  /** A comment by someone else (vm-ci may not edit it); returns its id. */
  seedForeign(repo: string, pr: number, body: string, author?: string): number;
  /** vm-ci's reactions to comment `commentId`, oldest first. */
  reactions(repo: string, commentId: number): MemoryReaction[];
  failNext(count: number, failure: InjectedFailure): void;
  /** Tries made of react, failed ones included. */
  reactTries(): number;
}

const SELF = 'vm-ci[bot]';

export function createMemoryCommentPort(options: { attempts?: number } = {}): MemoryCommentPort {
  const attempts = options.attempts ?? 3;
  const all: MemoryComment[] = [];
  const reactions: MemoryReaction[] = [];
  let reactionIds = 0;
  let reactTries = 0;
  const faults: InjectedFailure[] = [];
  let nextId = 1;
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const fault = (): LookupResult<never> | undefined => {
    const f = faults.shift();
    if (!f) return undefined;
    return {
      ok: false,
      retriable: f.retriable,
      ...(f.httpStatus === undefined ? {} : { httpStatus: f.httpStatus }),
      detail: f.detail ?? 'injected failure',
    };
  };
  const add = (repo: string, pr: number, body: string, author: string): MemoryComment => {
    const comment = { id: nextId++, repo, pr, body, author, edits: 0 };
    all.push(comment);
    return comment;
  };
  return {
    async findMarked(repo, pr, marker) {
      await Promise.resolve();
      return (
        fault() ?? {
          ok: true,
          value: all
            .filter((c) => same(c.repo, repo) && c.pr === pr && c.body.startsWith(marker))
            .map(({ id, body }) => ({ id, body })),
        }
      );
    },
    async create(repo, pr, body) {
      await Promise.resolve();
      const failed = fault();
      if (failed) return failed;
      const { id } = add(repo, pr, body, SELF);
      return { ok: true, value: { id, body } };
    },
    async update(repo, id, body) {
      await Promise.resolve();
      const failed = fault();
      if (failed) return failed;
      const comment = all.find((c) => c.id === id && same(c.repo, repo));
      if (!comment) return { ok: false, retriable: false, httpStatus: 404, detail: 'Not Found' };
      if (comment.author !== SELF) {
        return { ok: false, retriable: false, httpStatus: 403, detail: 'Forbidden' };
      }
      comment.body = body;
      comment.edits += 1;
      return { ok: true, value: { id, body } };
    },
    async react(repo, commentId, content) {
      await Promise.resolve();
      for (let n = 1; ; n++) {
        reactTries += 1;
        const failed = fault();
        if (!failed || failed.ok) break;
        if (!failed.retriable || n >= attempts) return failed;
      }
      const comment = all.find((c) => c.id === commentId && same(c.repo, repo));
      if (!comment) {
        return { ok: false, retriable: false, httpStatus: 404, detail: 'HTTP 404: Not Found' };
      }
      const mine = reactions.find(
        (r) => r.commentId === commentId && same(r.repo, repo) && r.content === content,
      );
      if (mine) return { ok: true, value: { id: mine.id, content, created: false } };
      const reaction = { id: ++reactionIds, repo, commentId, content };
      reactions.push(reaction);
      return { ok: true, value: { id: reaction.id, content, created: true } };
    },
    comments: (repo, pr) =>
      all.filter((c) => same(c.repo, repo) && c.pr === pr).map((c) => ({ ...c })),
    seedForeign(repo, pr, body, author = 'someone') {
      return add(repo, pr, body, author).id;
    },
    reactions: (repo, commentId) =>
      reactions
        .filter((r) => r.commentId === commentId && same(r.repo, repo))
        .map((r) => ({ ...r })),
    reactTries: () => reactTries,
    failNext(count, failure) {
      for (let i = 0; i < count; i++) faults.push({ ...failure });
    },
  };
}
