// Where runTest tries to create a test's VM, in order (DESIGN §4): the zones
// the stockout error named as available first, then the configured order;
// Spot first where allowed, then standard if the platform falls back.
import type { PlatformConfig } from '../config';
import type { ProvisioningModel } from '../domain/test';

export interface Placement {
  zone: string;
  provisioning: ProvisioningModel;
}

export function placementOrder(
  platform: Pick<PlatformConfig, 'zones' | 'spot' | 'spotFallbackToStandard'>,
  zonesAvailable: readonly string[] = [],
): Placement[] {
  // Only hinted zones the platform is configured for: the hint may name any zone of the region.
  const hinted = zonesAvailable.filter((zone) => platform.zones.includes(zone));
  const zones = [...new Set([...hinted, ...platform.zones])];
  const models: ProvisioningModel[] = platform.spot
    ? platform.spotFallbackToStandard
      ? ['SPOT', 'STANDARD']
      : ['SPOT']
    : ['STANDARD'];
  return models.flatMap((provisioning) => zones.map((zone) => ({ zone, provisioning })));
}

/**
 * The placements still to try after `failed` ran out of capacity, with a new
 * hint: hinted zones move to the front of what is left.
 */
export function remainingPlacements(
  order: readonly Placement[],
  tried: readonly Placement[],
  zonesAvailable: readonly string[] = [],
): Placement[] {
  const isTried = (p: Placement) =>
    tried.some((t) => t.zone === p.zone && t.provisioning === p.provisioning);
  const left = order.filter((p) => !isTried(p));
  const hinted = left.filter(
    (p) => zonesAvailable.includes(p.zone) && p.provisioning === left[0]?.provisioning,
  );
  return [...hinted, ...left.filter((p) => !hinted.includes(p))];
}
