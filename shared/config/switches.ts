// Operators' platform switches (`vmci maintenance <platform> on|off`) over the
// configuration file: a switch, once set, decides the platform's maintenance;
// without one the file's flag does. Doors read the switches once per request,
// so a switch takes effect on the next webhook, sweep or report.
import type { Logger } from '../log';
import type { PlatformSwitch, TestStore } from '../store/port';

/** What switches change: each platform's maintenance flag (a VmciConfig, or part of one). */
type WithMaintenance = { platforms: Readonly<Record<string, { maintenance: boolean }>> };

/** The configuration with each switched platform's maintenance as its switch says. */
export function applySwitches<C extends WithMaintenance>(
  config: C,
  switches: readonly PlatformSwitch[],
): C {
  const relevant = switches.filter(
    (s) =>
      config.platforms[s.platform] !== undefined &&
      config.platforms[s.platform]!.maintenance !== s.maintenance,
  );
  if (relevant.length === 0) return config;
  const platforms = { ...config.platforms };
  for (const s of relevant)
    platforms[s.platform] = { ...platforms[s.platform]!, maintenance: s.maintenance };
  return { ...config, platforms };
}

/**
 * The configuration as it stands now. When the switches cannot be read the
 * file's configuration is used (and the failure logged): a store outage must
 * not stop the door, and the next request reads them again.
 */
export async function currentConfig<C extends WithMaintenance>(deps: {
  store: Pick<TestStore, 'listPlatformSwitches'>;
  config: C;
  log: Logger;
}): Promise<C> {
  try {
    return applySwitches(deps.config, await deps.store.listPlatformSwitches());
  } catch (error) {
    deps.log.warn('Platform switches not read; using the configuration file', { error });
    return deps.config;
  }
}
