// A verified, parsed delivery (DESIGN §5): answered as before when its
// X-GitHub-Delivery, or the same signed bytes under another delivery id (a
// replay: the signature does not cover the delivery id), was handled already;
// else planned, carried out and remembered with its answer under both, so a
// repeated delivery changes nothing. What the plan needs from outside (an
// approval of the head commit, the permission of who added the approval
// label) is asked first; a head event about an older head than the PR's newest
// tests changes nothing. A /retest comment is answered on GitHub: a reaction
// when it is taken (after its tests are written), one reply when it is
// refused; each comment is claimed once (retest-runs.ts), so deliveries of the
// same comment at once make one run and one reply. An event that only creates
// tests (a push) skips the reads: its tests and its answer are written in one
// transaction that finds a repeat or a replay by their records (createTestsOnce).
// The webhook function's door checks the signature and parses; this decides.
import type { VmciConfig } from '../config/schema';
import type { DeliveryRecord } from '../store/port';
import type { PrCommentPort, ReactionContent } from '../github/comments';
import { applyWebhookPlan, testsToStore, type ApplyDeps } from './apply';
import type { WebhookEvent } from './events';
import { checkHead, currentHeadOf } from './order';
import {
  createsOnly,
  planQuestions,
  planWebhook,
  type HandledPlan,
  type PlanFacts,
  type PlanQuestions,
  type RetestReply,
} from './plan';
import { claimRefusal, claimRetestRuns, type ClaimTimes } from './retest-runs';

export type HandleEventDeps = ApplyDeps & {
  config: VmciConfig;
  /** Where a /retest is answered: a reaction to its comment, or one reply on its PR. */
  comments: Pick<PrCommentPort, 'create' | 'react'>;
};

/** The HTTP answer, as the door sends it and as a repeated delivery gets it again. */
export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** What the door knows of the request beyond the parsed event. */
export interface ReceivedBody {
  /** SHA-256 of the signed raw body, hex: the same bytes under another delivery id are a replay. */
  bodyDigest: string;
}

/**
 * The delivery record id of a signed body: its digest, under a prefix that no
 * X-GitHub-Delivery can have (those are letters, digits and `-`).
 */
export function bodyDeliveryId(bodyDigest: string): string {
  return `sha256_${bodyDigest}`;
}

/**
 * Throws only when the store fails: the event's tests are then not safe.
 * Answers 503 when GitHub cannot say whether the person who added the approval
 * label may approve, or what a /retest's PR is; nothing is recorded then, so
 * GitHub's redelivery works.
 */
export async function handleWebhookEvent(
  deps: HandleEventDeps,
  event: WebhookEvent,
  received?: ReceivedBody,
): Promise<WebhookAnswer> {
  const delivery = event.delivery;
  const bodyId = received ? bodyDeliveryId(received.bodyDigest) : undefined;
  const now = deps.now();
  const ttlMs = deps.config.sweeps.deliveryTtlHours * 3_600_000;
  const times: ClaimTimes = { now, expireAt: new Date(now.getTime() + ttlMs) };
  /** The records that keep an answer under the delivery id and the body's digest. */
  const records = (answer: WebhookAnswer): DeliveryRecord[] =>
    [delivery, ...(bodyId === undefined ? [] : [bodyId])].map((id) => ({
      id,
      event: event.name,
      receivedAt: now,
      expireAt: times.expireAt,
      response: { status: answer.status, body: answer.body },
    }));

  const questions = planQuestions(event, deps.config);
  if (Object.keys(questions).length === 0) {
    const plan = planWebhook(event, deps.config, now, {});
    if (plan.kind === 'handled' && createsOnly(plan)) {
      return createTestsOnce(deps, event, plan, records);
    }
  }

  const [byId, byBody] = await Promise.all([
    deps.store.getDelivery(delivery),
    bodyId === undefined ? null : deps.store.getDelivery(bodyId),
  ]);
  const seen = byId ?? byBody;
  if (seen) return answeredBefore(deps, seen, byId !== null);

  const asked = await askFor(deps, questions);
  if (!asked.ok) return { status: 503, body: { delivery, error: asked.error } };
  const plan = planWebhook(event, deps.config, now, asked.facts);
  /** Keeps the answer under the delivery id and the body's digest: a repeat gets it again. */
  const remember = async (answer: WebhookAnswer): Promise<WebhookAnswer> => {
    await Promise.all(records(answer).map((record) => deps.store.recordDelivery(record)));
    return answer;
  };
  switch (plan.kind) {
    case 'ping':
      return { status: 200, body: { delivery, ok: true } };
    case 'forbidden':
      return { status: 403, body: { delivery, error: plan.reason } };
    case 'ignored':
      if (plan.refused) {
        deps.log.warn('Approval label from someone who may not approve', {
          event: event.name,
          reason: plan.reason,
          ...plan.refused,
        });
      } else deps.log.info('Event ignored', { event: event.name, reason: plan.reason });
      return ignoredAnswer(delivery, plan.reason);
    case 'refused': {
      const answer = ignoredAnswer(delivery, plan.reason);
      const { repo, pr, commentId } = plan.reply;
      const fields = { event: event.name, reason: plan.reason, repo, pr, commentId };
      if (await claimRefusal(deps, plan.reply, answer, times)) {
        deps.log.info('/retest refused', fields);
        await replyToRefusal(deps, plan.reply);
      } else deps.log.info('/retest refused, and answered by an earlier delivery', fields);
      return remember(answer);
    }
    case 'handled': {
      let toApply = plan;
      if (plan.retest) {
        const claimed = await claimRetestRuns(
          deps,
          { ...plan, retest: plan.retest },
          delivery,
          times,
        );
        if (!claimed.ok) {
          deps.log.info('/retest taken by an earlier delivery', {
            event: event.name,
            reason: claimed.reason,
          });
          return remember(ignoredAnswer(delivery, claimed.reason));
        }
        toApply = claimed.plan;
      }
      const currentHead = plan.head && currentHeadOf(deps, plan.head.repo, plan.head.pr);
      if (plan.head && currentHead) {
        const check = await checkHead(deps, plan.head, currentHead);
        if (!check.current) {
          deps.log.info('Event about an older head ignored', {
            event: event.name,
            reason: check.reason,
          });
          return ignoredAnswer(delivery, check.reason);
        }
      }
      const outcome = await applyWebhookPlan(
        deps,
        toApply,
        currentHead === undefined ? {} : { currentHead },
      );
      // Taken: the person sees it once the tests are written.
      if (plan.retest) {
        const { repo, pr, commentId } = plan.retest;
        await react(deps, { repo, pr, commentId }, 'rocket');
      }
      const answer = await remember({ status: 202, body: { delivery, ...outcome } });
      deps.log.info('Event handled', { event: event.name, ...outcome });
      return answer;
    }
  }
}

/**
 * A plan that only creates tests (a push): its tests and the delivery's
 * answer in one transaction, which finds a repeated delivery or a replayed
 * body by their records and then writes nothing; then their tasks. When a
 * task could not be made (`notQueued`), the kept answer is corrected after.
 */
async function createTestsOnce(
  deps: HandleEventDeps,
  event: WebhookEvent,
  plan: HandledPlan,
  records: (answer: WebhookAnswer) => DeliveryRecord[],
): Promise<WebhookAnswer> {
  const tests = plan.create.map((test) => test.id);
  const handled = { tests, canceled: [], released: [], notQueued: [] };
  const answer = { status: 202, body: { delivery: event.delivery, ...handled } };
  const stored = await deps.store.createTestsForDelivery(testsToStore(plan), records(answer));
  if ('seen' in stored) return answeredBefore(deps, stored.seen, stored.seen.id === event.delivery);
  const outcome = await applyWebhookPlan(deps, plan, { stored });
  deps.log.info('Event handled', { event: event.name, ...outcome });
  const final = { status: 202, body: { delivery: event.delivery, ...outcome } };
  if (outcome.notQueued.length > 0) {
    // The records were written before the tasks: a repeat answers as this one does.
    await Promise.all(
      records(final).map((record) => deps.store.setDeliveryAnswer(record.id, record.response)),
    );
  }
  return final;
}

/** A delivery seen before (`byId`: the same delivery id; else the same signed bytes), answered as then. */
function answeredBefore(deps: HandleEventDeps, seen: DeliveryRecord, byId: boolean): WebhookAnswer {
  const first = (seen.response.body as { delivery?: unknown } | null)?.delivery;
  deps.log.info(
    byId ? 'Repeated delivery answered as before' : 'Replayed body answered as before',
    {
      event: seen.event,
      firstDelivery: first,
    },
  );
  return { status: seen.response.status, body: seen.response.body as Record<string, unknown> };
}

/** A refused /retest: one line on the PR, and a `confused` reaction. Failures are logged only. */
async function replyToRefusal(deps: HandleEventDeps, reply: RetestReply): Promise<void> {
  const posted = await deps.comments.create(reply.repo, reply.pr, reply.body);
  if (!posted.ok) {
    deps.log.warn('Reply to a refused /retest not posted', {
      repo: reply.repo,
      pr: reply.pr,
      httpStatus: posted.httpStatus,
      detail: posted.detail,
    });
  }
  await react(deps, reply, 'confused');
}

async function react(
  deps: HandleEventDeps,
  where: Pick<RetestReply, 'repo' | 'pr' | 'commentId'>,
  content: ReactionContent,
): Promise<void> {
  const result = await deps.comments.react(where.repo, where.commentId, content);
  if (!result.ok) {
    deps.log.warn('Reaction to a /retest comment not posted', {
      ...where,
      content,
      httpStatus: result.httpStatus,
      detail: result.detail,
    });
  }
}

function ignoredAnswer(delivery: string, reason: string): WebhookAnswer {
  return { status: 202, body: { delivery, tests: [], ignored: reason } };
}

type Asked = { ok: true; facts: PlanFacts } | { ok: false; error: string };

/** The answers to the plan's questions, from the store and GitHub. */
async function askFor(deps: HandleEventDeps, questions: PlanQuestions): Promise<Asked> {
  const facts: PlanFacts = {};
  if (questions.approval) {
    const { repo, pr, sha } = questions.approval;
    facts.approved = (await deps.store.getApproval(repo, pr, sha)) !== null;
  }
  if (questions.permission) {
    const { repo, login } = questions.permission;
    const result = await deps.github.permission(repo, login);
    if (!result.ok) {
      const fields = { repo, login, httpStatus: result.httpStatus, detail: result.detail };
      if (result.retriable) deps.log.warn('GitHub could not say who may approve', fields);
      else deps.log.error('GitHub refused to say who may approve', fields);
      return {
        ok: false,
        error: `vm-ci could not ask GitHub whether ${login} may approve. Redeliver this event later.`,
      };
    }
    facts.permission = result.value;
  }
  if (questions.pullRequest) {
    const { repo, pr } = questions.pullRequest;
    const result = await deps.github.pullRequest(repo, pr);
    if (!result.ok) {
      const fields = { repo, pr, httpStatus: result.httpStatus, detail: result.detail };
      if (result.retriable) deps.log.warn('GitHub could not say what the PR is', fields);
      else deps.log.error('GitHub refused to say what the PR is', fields);
      return {
        ok: false,
        error: `vm-ci could not ask GitHub about PR #${pr} for /retest. Redeliver this event later.`,
      };
    }
    facts.pullRequest = result.value;
  }
  return { ok: true, facts };
}
