// Where runTest tries a VM, in order (DESIGN §4): the configured zones, Spot
// first where allowed and standard after it if the platform falls back, and a
// stockout's zonesAvailable hint moving those zones to the front.
import { placementOrder, remainingPlacements, type Placement } from '../../shared/run/placement';

const [A, B, C] = ['us-central1-a', 'us-central1-b', 'us-central1-c'];
const zones = [A, B, C];

const show = (placements: readonly Placement[]) =>
  placements.map((p) => `${p.provisioning === 'SPOT' ? 'spot' : 'std'}:${p.zone.slice(-1)}`);

describe('placementOrder', () => {
  it('tries Spot in every zone, in the configured order, then standard', () => {
    expect(show(placementOrder({ zones, spot: true, spotFallbackToStandard: true }))).toEqual([
      'spot:a',
      'spot:b',
      'spot:c',
      'std:a',
      'std:b',
      'std:c',
    ]);
  });

  it('tries only Spot when the platform does not fall back', () => {
    expect(show(placementOrder({ zones, spot: true, spotFallbackToStandard: false }))).toEqual([
      'spot:a',
      'spot:b',
      'spot:c',
    ]);
  });

  it.each([true, false])(
    'tries only standard VMs when Spot is off (fallback %s)',
    (spotFallbackToStandard) => {
      expect(show(placementOrder({ zones, spot: false, spotFallbackToStandard }))).toEqual([
        'std:a',
        'std:b',
        'std:c',
      ]);
    },
  );

  it('puts hinted zones first, once each, and ignores zones the platform does not use', () => {
    const order = placementOrder({ zones, spot: false, spotFallbackToStandard: true }, [
      'europe-west1-b',
      C,
      C,
    ]);
    expect(show(order)).toEqual(['std:c', 'std:a', 'std:b']);
  });
});

describe('remainingPlacements', () => {
  const order = placementOrder({ zones, spot: true, spotFallbackToStandard: true });

  it('drops what was tried and keeps the order without a hint', () => {
    expect(show(remainingPlacements(order, [order[0]!]))).toEqual([
      'spot:b',
      'spot:c',
      'std:a',
      'std:b',
      'std:c',
    ]);
  });

  it('moves the hinted zone to the front of the same provisioning model', () => {
    expect(show(remainingPlacements(order, [order[0]!], [C]))).toEqual([
      'spot:c',
      'spot:b',
      'std:a',
      'std:b',
      'std:c',
    ]);
  });

  it('does not let a Spot hint jump a standard VM ahead of the remaining Spot zones', () => {
    const tried = order.slice(0, 2); // spot:a, spot:b
    expect(show(remainingPlacements(order, tried, [A]))).toEqual([
      'spot:c',
      'std:a',
      'std:b',
      'std:c',
    ]);
  });

  it('within standard, hinted zones come first', () => {
    const tried = order.slice(0, 4); // every Spot zone and std:a
    expect(show(remainingPlacements(order, tried, [C]))).toEqual(['std:c', 'std:b']);
  });

  it('ignores a hint naming only tried or unknown zones', () => {
    expect(show(remainingPlacements(order, [order[0]!], [A, 'asia-east1-a']))).toEqual([
      'spot:b',
      'spot:c',
      'std:a',
      'std:b',
      'std:c',
    ]);
  });

  it('is empty once everything was tried', () => {
    expect(remainingPlacements(order, order, [A, B, C])).toEqual([]);
  });
});
