// Every timer the stand-in starts goes through one `Timers`: they are unref'd
// (a pending operation never keeps the process alive) and `clearAll()` on
// close stops the lot.
export class Timers {
  private readonly live = new Set<NodeJS.Timeout>();
  private closed = false;

  /** Runs `fn` after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void {
    if (this.closed) return () => {};
    const timer = setTimeout(
      () => {
        this.live.delete(timer);
        fn();
      },
      Math.max(0, ms),
    );
    timer.unref();
    this.live.add(timer);
    return () => {
      clearTimeout(timer);
      this.live.delete(timer);
    };
  }

  clearAll(): void {
    this.closed = true;
    for (const timer of this.live) clearTimeout(timer);
    this.live.clear();
  }
}

/** A short ref'd pause, for polling that must finish before close() resolves. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A pause that does not keep the process alive (for a bound in a race). */
export const sleepUnref = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
