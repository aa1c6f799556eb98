// `vmci cancel`: ends tests through the same moves as the webhook's cancels
// (shared/tests/cancel.ts, then afterTestEnded: the VM deleted through the
// runTest queue, the slot given on, the final status posted).
import { isTerminal, LIVE_STATUSES, type TestRecord } from '../../../shared/domain/test';
import { afterTestEnded } from '../../../shared/tests/after-end';
import { cancelTest } from '../../../shared/tests/cancel';
import { countArg, onePositional, repoArg, shaArg } from '../args';
import type { Command, ParsedArgs } from '../command';
import type { Output } from '../context';
import { CliFailure, UsageError } from '../errors';
import { plural } from '../format';
import { canceledByOperator } from '../messages';
import { openDomain, type EndServices } from '../services';
import { findTests } from './tests';
import { currentConfig } from '../../../shared/config/switches';

const MAX_TARGETS = 1000;

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'cancel a test, a PR’s live tests, or a commit’s live tests',
  usage: `vmci cancel <test-id> | --pr N --repo owner/name | --sha SHA --repo owner/name

Cancels as the webhook does when a PR closes: each test ends 'canceled' with
"Canceled by an operator (<you>)", its VM is deleted (through the runTest
queue), its slot goes to the next pending test, and its status is posted on
GitHub (error). Without GitHub credentials the statuses are posted by the next sweep.`,
  options: {
    repo: { type: 'string' },
    sha: { type: 'string' },
    pr: { type: 'string' },
  },
  check: (args) => void cancelForm(args),
  async run(args, ctx, output, cli) {
    const { id, sha, pr } = cancelForm(args);
    const repo = repoArg(args.values.repo as string | undefined, ctx.config);

    const { deps: base, github, close } = await openDomain(ctx, output, 'optional', cli);
    try {
      // The platforms' maintenance as the switches set it: a freed slot is not given to one in maintenance.
      const deps: EndServices = { ...base, config: await currentConfig(base) };
      let targets: TestRecord[];
      if (id !== undefined) {
        const test = await deps.store.getTest(id);
        if (!test) throw new CliFailure(`No test ${id}: list the tests with \`vmci tests\``);
        if (isTerminal(test.status)) {
          throw new CliFailure(`Test ${id} has already ended (${test.status}): nothing to cancel`);
        }
        targets = [test];
      } else {
        const live = await Promise.all(
          LIVE_STATUSES.map((status) =>
            findTests(
              deps.store,
              { repo: repo!, status, ...(pr !== undefined ? { pr } : { sha: sha! }) },
              MAX_TARGETS,
            ),
          ),
        );
        targets = live.flat();
        if (targets.length === 0) {
          const of = pr !== undefined ? `PR #${pr}` : `commit ${sha}`;
          output.out(`no live tests of ${of} in ${repo}: nothing to cancel`);
          return 0;
        }
      }
      const failed = await cancelAll(deps, targets, canceledByOperator(ctx.who), output);
      if (!github)
        output.out('no GitHub credentials here: statuses will be posted by the next sweep');
      return failed ? 1 : 0;
    } finally {
      await close();
    }
  },
};

/** Cancels each test in turn, with progress on stderr; true when one could not be canceled. */
async function cancelAll(
  deps: EndServices,
  targets: readonly TestRecord[],
  message: string,
  output: Output,
): Promise<boolean> {
  let failed = false;
  let done = 0;
  const many = targets.length > 1;
  if (many) output.err(`canceling ${plural(targets.length, 'test')}…`);
  for (const read of targets) {
    const result = await cancelTest(deps, read.id, message, { read });
    done += 1;
    if (result.canceled) {
      const { test, slotReleased } = result;
      const after = await afterTestEnded(deps, test, { slotReleased });
      const notes = [`was ${read.status}`];
      const vm = test.deletion?.name;
      if (vm)
        notes.push(
          after.teardownRequested ? `VM ${vm} is being deleted` : `VM ${vm} is left to the sweep`,
        );
      if (after.started) notes.push(`next: ${after.started}`);
      output.out(`canceled ${test.id} (${notes.join('; ')})`);
    } else if (result.reason === 'terminal' && result.current) {
      output.out(`${read.id} had already ended (${result.current.status})`);
    } else {
      failed = true;
      const now = result.current ? ` (now ${result.current.status})` : '';
      output.err(`could not cancel ${read.id}: ${result.reason}${now}`);
    }
    if (many) output.err(`canceling ${plural(targets.length, 'test')}… ${done}/${targets.length}`);
  }
  return failed;
}

/** Exactly one of: a test id, --pr with --repo, --sha with --repo. */
function cancelForm({ values, positionals }: ParsedArgs) {
  const id = onePositional(positionals, 'test id');
  const repo = values.repo as string | undefined;
  const sha = shaArg(values.sha as string | undefined);
  const pr = countArg('pr', values.pr as string | undefined);
  const by = [id !== undefined, pr !== undefined, sha !== undefined].filter(Boolean).length;
  if (by !== 1) {
    throw new UsageError('cancel what? give a test id, or --pr N --repo R, or --sha S --repo R');
  }
  if (id === undefined && repo === undefined) {
    throw new UsageError(`--${pr !== undefined ? 'pr' : 'sha'} needs --repo`);
  }
  if (id !== undefined && repo !== undefined) throw new UsageError('a test id needs no --repo');
  return { id, sha, pr };
}
