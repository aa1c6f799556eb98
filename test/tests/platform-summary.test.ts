// Per-platform summaries (status page, `vmci queue`) and the operators'
// maintenance switches over the configuration file, on both stores.
import { parseConfig, type VmciConfig } from '../../shared/config';
import { applySwitches, currentConfig } from '../../shared/config/switches';
import { createLogger } from '../../shared/log';
import { platformSummaries } from '../../shared/tests/platform-summary';
import { at, testRecord, useStore } from '../contracts/store/fixtures';
import { changed, validConfig } from '../config/fixtures';
import { storeKinds } from './stores';

function config(...changes: Parameters<typeof changed>[1][]): VmciConfig {
  const parsed = parseConfig(JSON.stringify(changed(validConfig(), ...changes)), 'test.json');
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.config;
}

describe('applySwitches', () => {
  const base = config(['platforms.windows.maintenance', true]);

  it('a switch decides its platform; the file decides the others', () => {
    const switched = applySwitches(base, [
      { platform: 'linux', maintenance: true, by: 'a', at: at(0) },
      { platform: 'windows', maintenance: false, by: 'a', at: at(0) },
    ]);
    expect(switched.platforms.linux!.maintenance).toBe(true);
    expect(switched.platforms.windows!.maintenance).toBe(false);
    // The file's configuration is left as it was.
    expect(base.platforms.linux!.maintenance).toBe(false);
    expect(base.platforms.windows!.maintenance).toBe(true);
  });

  it('ignores a switch of a platform the configuration no longer has', () => {
    const switched = applySwitches(base, [
      { platform: 'mac', maintenance: true, by: 'a', at: at(0) },
    ]);
    expect(switched).toBe(base);
    expect(Object.keys(switched.platforms)).toEqual(['linux', 'windows']);
  });
});

describe('currentConfig', () => {
  const quiet = createLogger({ service: 'test', write: () => {} });

  it('uses the file when the switches cannot be read', async () => {
    const lines: string[] = [];
    const log = createLogger({ service: 'test', write: (line) => lines.push(line) });
    const store = { listPlatformSwitches: () => Promise.reject(new Error('UNAVAILABLE')) };
    const base = config();
    expect(await currentConfig({ store, config: base, log })).toBe(base);
    expect(lines.join('\n')).toContain('Platform switches not read');
  });

  it('applies what the store holds', async () => {
    const store = {
      listPlatformSwitches: async () => [
        { platform: 'linux', maintenance: true, by: 'a', at: at(0) },
      ],
    };
    const now = await currentConfig({ store, config: config(), log: quiet });
    expect(now.platforms.linux!.maintenance).toBe(true);
  });
});

describe.each(storeKinds('platform-summary'))('platformSummaries ($name)', ({ make }) => {
  const current = useStore(make);

  it('counts live tests, slots and the oldest waiting, with maintenance as switched', async () => {
    const { store } = current();
    await store.createTests([
      testRecord({ id: 'w1', status: 'waiting', updatedAt: at(5), waitReason: 'approval' }),
      testRecord({ id: 'p1', status: 'pending', updatedAt: at(3) }),
      testRecord({ id: 'q1', status: 'queued', updatedAt: at(4) }),
      testRecord({ id: 'q2', status: 'queued', updatedAt: at(6) }),
      testRecord({ id: 'r1', status: 'running', updatedAt: at(1) }),
      testRecord({ id: 'd1', status: 'passed', updatedAt: at(0) }),
      testRecord({ id: 'x1', status: 'starting', platform: 'windows', updatedAt: at(2) }),
    ]);
    await store.acquireSlot('linux', 'r1', 4, at(1));
    await store.acquireSlot('windows', 'x1', 4, at(2));
    await store.setPlatformSwitch({ platform: 'windows', maintenance: true, by: 'op', at: at(7) });

    const summaries = await platformSummaries({
      store,
      config: config(['platforms.linux.maxConcurrent', 3]),
    });

    expect(summaries).toEqual([
      {
        platform: 'linux',
        maintenance: false,
        maxConcurrent: 3,
        slotsInUse: 1,
        counts: { waiting: 1, pending: 1, queued: 2, starting: 0, running: 1 },
        oldestWaitingAt: at(3),
      },
      {
        platform: 'windows',
        maintenance: true,
        maxConcurrent: expect.any(Number),
        slotsInUse: 1,
        counts: { waiting: 0, pending: 0, queued: 0, starting: 1, running: 0 },
        oldestWaitingAt: null,
      },
    ]);
  });
});
