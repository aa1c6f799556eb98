// The pure rules of sharded slots: the caps, the probe order, where a restored
// slot goes. The stores' contract (test/contracts/store/slots.contract.ts)
// checks that both adapters follow them.
import {
  ALL_SHARDS,
  planReconcile,
  planShardedAcquire,
  restoreShard,
  shardCap,
  shardProbeOrder,
  slotHash,
  SLOT_SHARDS,
  usableShards,
  type Holders,
} from '../../shared/store/rules';
import { at } from '../contracts/store/fixtures';

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const caps = (max: number) => ALL_SHARDS.map((k) => shardCap(max, k));

describe('shardCap', () => {
  it('shares maxConcurrent out exactly, every share within one of the others', () => {
    for (let max = 0; max <= 200; max++) {
      const shares = caps(max);
      expect([max, sum(shares)]).toEqual([max, max]);
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
      expect(shares.filter((cap) => cap > 0)).toHaveLength(usableShards(max));
    }
    expect(caps(3)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(caps(17)).toEqual([2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('falls from shard to shard, and grows with maxConcurrent: writers on two values hold at most the larger', () => {
    for (let max = 0; max <= 100; max++) {
      const shares = caps(max);
      const more = caps(max + 1);
      for (const k of ALL_SHARDS) {
        if (k > 0) expect(shares[k]).toBeLessThanOrEqual(shares[k - 1]!);
        expect(more[k]).toBeGreaterThanOrEqual(shares[k]!);
      }
    }
  });
});

describe('shardProbeOrder', () => {
  it('tries every usable shard once, from the preferred one around', () => {
    for (const max of [1, 3, 16, 40]) {
      for (const id of ['a', 'b', 'ccextractor-linux-0123456', 'x'.repeat(300)]) {
        const order = shardProbeOrder(id, max);
        const usable = usableShards(max);
        expect([...order].sort((a, b) => a - b)).toEqual(ALL_SHARDS.slice(0, usable));
        expect(order[0]).toBe(slotHash(id) % usable);
        order.forEach((shard, i) => expect(shard).toBe((order[0]! + i) % usable));
      }
    }
    expect(shardProbeOrder('a', 0)).toEqual([]);
  });

  it('is stable (a hash that never changes between releases) and spreads ids over the shards', () => {
    expect(slotHash('')).toBe(0x811c9dc5);
    expect(slotHash('a')).toBe(0xe40c292c);
    const preferred = Array.from({ length: 1600 }, (_, i) => shardProbeOrder(`t${i}`, 64)[0]!);
    for (const k of ALL_SHARDS) {
      const n = preferred.filter((shard) => shard === k).length;
      expect([k, n > 50 && n < 150]).toEqual([k, true]);
    }
  });
});

describe('planShardedAcquire', () => {
  const empty = (): Holders[] => ALL_SHARDS.map(() => ({}));

  it('fills every shard up to its cap before refusing, then counts every holder', () => {
    for (const max of [1, 3, 16, 17, 35]) {
      const shards = empty();
      const taken: number[] = [];
      for (let i = 0; i < max; i++) {
        const plan = planShardedAcquire(shards, { known: false }, `t${i}`, max, at(0));
        if (!plan.acquired) throw new Error(`refused below the cap: ${max}`);
        shards[plan.shard] = plan.holders;
        taken.push(plan.shard);
      }
      for (const k of ALL_SHARDS) {
        expect(Object.keys(shards[k]!)).toHaveLength(shardCap(max, k));
      }
      expect(planShardedAcquire(shards, { known: false }, 'late', max, at(0))).toEqual({
        acquired: false,
        count: max,
      });
    }
  });

  it('keeps a slot held in any shard; a test known to hold none takes a new one', () => {
    const shards = empty();
    shards[9] = { t: at(0) };
    expect(planShardedAcquire(shards, { known: false }, 't', 2, at(1))).toMatchObject({
      acquired: true,
      alreadyHeld: true,
      shard: 9,
    });
    expect(planShardedAcquire(shards, { known: true, shard: 9 }, 't', 2, at(1))).toMatchObject({
      alreadyHeld: true,
      shard: 9,
    });
    expect(planShardedAcquire(shards, { known: true, shard: null }, 't', 2, at(1))).toMatchObject({
      alreadyHeld: false,
    });
  });
});

describe('restoreShard', () => {
  it('takes free room whenever a shard has some, for any maxConcurrent', () => {
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 2000; round++) {
      const max = 1 + random(60);
      const counts = ALL_SHARDS.map((k) => random(shardCap(max, k) + 1));
      const room = ALL_SHARDS.filter((k) => counts[k]! < shardCap(max, k));
      const chosen = restoreShard(counts);
      if (room.length > 0)
        expect([max, counts, room.includes(chosen)]).toEqual([max, counts, true]);
      expect(counts[chosen]).toBe(Math.min(...counts));
    }
  });
});

describe('planReconcile', () => {
  it('restores into restoreShard’s choice, and releases every shard a slot is held in', () => {
    const shards: Holders[] = ALL_SHARDS.map(() => ({}));
    shards[0] = { a: at(0) };
    const restored = planReconcile(
      shards,
      'linux',
      'r',
      { platform: 'linux', status: 'running' },
      at(1),
    );
    expect(restored).toEqual({
      change: 'restored',
      writes: new Map([[1, { r: at(1) }]]),
      count: 2,
      slotShard: 1,
    });

    shards[5] = { d: at(0) };
    shards[7] = { d: at(0), e: at(0) };
    const twice = planReconcile(
      shards,
      'linux',
      'd',
      { platform: 'linux', status: 'running', slotShard: 7 },
      at(1),
    );
    expect(twice).toEqual({
      change: 'released',
      writes: new Map([[5, {}]]),
      count: 3,
      slotShard: 7,
    });

    const ended = planReconcile(
      shards,
      'linux',
      'd',
      { platform: 'linux', status: 'passed' },
      at(1),
    );
    expect(ended).toEqual({
      change: 'released',
      writes: new Map([
        [5, {}],
        [7, { e: at(0) }],
      ]),
      count: 2,
      slotShard: null,
    });
    expect(SLOT_SHARDS).toBe(ALL_SHARDS.length);
  });
});
