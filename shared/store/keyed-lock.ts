// Runs tasks that share a key one at a time, in arrival order; tasks with no
// key in common run side by side. A task's keys are taken in sorted order, so
// two tasks never wait for each other in a cycle.

export interface KeyedLock {
  run<T>(keys: readonly string[], task: () => Promise<T>): Promise<T>;
  /** Keys that a task holds or waits for (for tests: the lock leaves nothing behind). */
  size(): number;
}

export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();

  async function take(key: string): Promise<() => void> {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    tails.set(key, tail);
    await previous;
    return () => {
      if (tails.get(key) === tail) tails.delete(key);
      release();
    };
  }

  return {
    async run(keys, task) {
      const releases: (() => void)[] = [];
      try {
        for (const key of [...new Set(keys)].sort()) releases.push(await take(key));
        return await task();
      } finally {
        for (const release of releases.reverse()) release();
      }
    },
    size: () => tails.size,
  };
}
