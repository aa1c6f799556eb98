// `vmci show <test-id>`: one test's story (timeline) and result.
import type { TestRecord } from '../../../shared/domain/test';
import { testView } from '../../../shared/tests/view';
import { onePositional } from '../args';
import type { Command } from '../command';
import { CliFailure, UsageError } from '../errors';
import { age, clock, cut } from '../format';
import { openStore } from '../services';
import { stateOf } from './tests';

/** Failing tests shown before "and N more". */
const FAILURES_SHOWN = 10;

export const showCommand: Command = {
  name: 'show',
  summary: "one test's title, timeline, result, VM, commit and PR",
  usage: `vmci show <test-id> [--json]

The test's state and message, its title, commit, PR and VM, its timeline (time,
state or stage, message) and its result (counts, failing tests). --json prints
it as the status API shows it, every detail included.`,
  options: { json: { type: 'boolean' } },
  check({ positionals }) {
    testIdArg(positionals);
  },
  async run({ values, positionals }, ctx, output, cli) {
    const id = testIdArg(positionals);
    const services = openStore(ctx, output, cli);
    try {
      const test = await services.store.getTest(id);
      if (!test) throw new CliFailure(`No test ${id}: list the tests with \`vmci tests\``);
      if (values.json) {
        output.out(JSON.stringify(testView(test, { showDetails: true }), null, 2));
        return 0;
      }
      for (const line of describeTest(test, services.now(), output.columns)) output.out(line);
      return 0;
    } finally {
      await services.close();
    }
  },
};

export function describeTest(test: TestRecord, now: Date, columns: number): string[] {
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`${name.padEnd(10)}${value}`);
  const when = (date: Date | null) => (date ? `${clock(date)} (${age(date, now)} ago)` : '-');
  lines.push(test.id);
  field('state', `${stateOf(test)}: ${test.message}`);
  field('repo', test.repo);
  if (test.title) field('title', cut(test.title, columns - 10));
  field('commit', `${test.sha}  ${test.ref}${test.author ? `  by ${test.author}` : ''}`);
  const trigger = test.pr !== null ? `pull request #${test.pr}` : test.trigger;
  field('trigger', `${trigger}, run ${test.run}`);
  field('platform', `${test.platform}  (${test.attempts} VM attempts)`);
  field(
    'VM',
    test.instance
      ? `${test.instance.name}  ${test.instance.zone}  ${test.instance.provisioning}`
      : '-',
  );
  if (test.deletion) {
    field('deletion', test.deletion.doneAt ? `done ${when(test.deletion.doneAt)}` : 'pending');
  }
  field('created', when(test.createdAt));
  field('started', when(test.startedAt));
  field('finished', when(test.finishedAt));
  if (test.result) {
    const { exitCode, passed, failed, summary } = test.result;
    const counts = [
      passed === null ? null : `${passed} passed`,
      failed === null ? null : `${failed} failed`,
    ].filter((c) => c !== null);
    field('result', `exit code ${exitCode}${counts.length ? `, ${counts.join(', ')}` : ''}`);
    if (summary) field('summary', cut(summary.replace(/\s+/g, ' '), columns - 10));
  }
  if (test.failures && test.failures.cases.length) {
    lines.push('failing');
    for (const c of test.failures.cases.slice(0, FAILURES_SHOWN)) {
      const name = c.classname ? `${c.classname}.${c.name}` : c.name;
      lines.push(cut(`  ${name}${c.message ? `: ${c.message}` : ''}`, columns));
    }
    const more = test.failures.cases.length - FAILURES_SHOWN;
    if (more > 0) lines.push(`  and ${more} more`);
  }
  lines.push('timeline');
  for (const entry of test.timeline ?? []) {
    const what = entry.stage ? `${entry.status}:${entry.stage}` : entry.status;
    lines.push(cut(`  ${clock(entry.at)}  ${what.padEnd(20)} ${entry.message}`, columns));
  }
  return lines;
}

function testIdArg(positionals: readonly string[]): string {
  const id = onePositional(positionals, 'test id');
  if (id === undefined)
    throw new UsageError('which test? `vmci show <test-id>` (ids: `vmci tests`)');
  return id;
}
