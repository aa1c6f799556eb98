// `vmci maintenance <platform> on|off`: the platform's switch in Firestore,
// which the webhook and the sweeps read over the configuration's flag.
import type { LIVE_STATUSES } from '../../../shared/domain/test';
import { platformArg } from '../args';
import type { Command } from '../command';
import { UsageError } from '../errors';
import { plural } from '../format';
import { openStore } from '../services';

export const maintenanceCommand: Command = {
  name: 'maintenance',
  summary: 'put a platform in maintenance (new tests wait) or take it out',
  usage: `vmci maintenance <platform> on|off

on: the platform's new tests wait ("Platform <p> is in maintenance"), its
pending tests go back to waiting at the next sweep, and tests already queued,
starting or running finish. off: the waiting tests become pending and start within a
minute (sweepPending). The switch is kept in Firestore with who set it and
when; it overrides the configuration's maintenance flag until switched again.`,
  options: {},
  check: ({ positionals }) => void maintenanceForm(positionals),
  async run({ positionals }, ctx, output, cli) {
    const { name, state } = maintenanceForm(positionals);
    const platform = platformArg(name, ctx.config, 'platform')!;
    const maintenance = state === 'on';
    const services = openStore(ctx, output, cli);
    try {
      const { store } = services;
      await store.setPlatformSwitch({ platform, maintenance, by: ctx.who, at: services.now() });
      const count = async (statuses: readonly (typeof LIVE_STATUSES)[number][]) =>
        (await Promise.all(statuses.map((s) => store.countByStatus(platform, s)))).reduce(
          (a, b) => a + b,
          0,
        );
      if (maintenance) {
        // A queued test has its task: it starts and finishes like a running one.
        const [inFlight, ready] = await Promise.all([
          count(['queued', 'starting', 'running']),
          count(['pending']),
        ]);
        const more = ready ? `; ${plural(ready, 'pending test')} wait too` : '';
        output.out(
          `${platform} is in maintenance: new tests wait; ${plural(inFlight, 'running test')} finish${inFlight === 1 ? 'es' : ''}${more}`,
        );
      } else {
        const waiting = (await store.listByStatus('waiting', { platform, limit: 1000 })).filter(
          (test) => test.waitReason === 'maintenance',
        ).length;
        output.out(
          `${platform} is back: ${plural(waiting, 'waiting test')} start${waiting === 1 ? 's' : ''} within a minute (sweepPending)`,
        );
      }
      return 0;
    } finally {
      await services.close();
    }
  },
};

function maintenanceForm(positionals: readonly string[]) {
  const [name, state, ...rest] = positionals;
  if (name === undefined || (state !== 'on' && state !== 'off') || rest.length) {
    throw new UsageError('expected `vmci maintenance <platform> on|off`');
  }
  return { name, state };
}
