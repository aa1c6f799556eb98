import { createKeyedLock } from '../../shared/store/keyed-lock';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('createKeyedLock', () => {
  it('runs tasks that share a key one at a time, in arrival order', async () => {
    const lock = createKeyedLock();
    const events: string[] = [];
    const task = (name: string, ms: number) => async () => {
      events.push(`${name} start`);
      await sleep(ms);
      events.push(`${name} end`);
      return name;
    };

    const results = await Promise.all([
      lock.run(['k'], task('a', 20)),
      lock.run(['k'], task('b', 1)),
      lock.run(['k'], task('c', 5)),
    ]);

    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(lock.size()).toBe(0);
  });

  it('runs tasks with no key in common side by side', async () => {
    const lock = createKeyedLock();
    let running = 0;
    let most = 0;
    const task = async () => {
      running += 1;
      most = Math.max(most, running);
      await sleep(10);
      running -= 1;
    };

    await Promise.all([lock.run(['a'], task), lock.run(['b'], task), lock.run(['c', 'd'], task)]);

    expect(most).toBe(3);
  });

  it('never deadlocks tasks that take overlapping keys in any order, and keeps each key exclusive', async () => {
    const lock = createKeyedLock();
    const active = new Map<string, number>();
    let clash = false;
    const keySets = [['a', 'b'], ['b', 'a'], ['b', 'c'], ['c', 'a'], ['a'], ['c', 'b', 'a']];

    await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const keys = keySets[i % keySets.length]!;
        return lock.run(keys, async () => {
          for (const k of keys) {
            if (active.get(k)) clash = true;
            active.set(k, 1);
          }
          await sleep(1);
          for (const k of keys) active.set(k, 0);
        });
      }),
    );

    expect(clash).toBe(false);
    expect(lock.size()).toBe(0);
  });

  it('releases the keys of a task that fails', async () => {
    const lock = createKeyedLock();

    await expect(lock.run(['k'], () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');

    await expect(lock.run(['k'], async () => 'next')).resolves.toBe('next');
    expect(lock.size()).toBe(0);
  });
});
