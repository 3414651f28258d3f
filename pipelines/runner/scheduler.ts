/**
 * The scheduler: start every step whose dependencies are done, up to
 * `concurrency` at once, until nothing is left to start and nothing runs.
 * It knows nothing of records or storage; the caller says which steps are
 * pending and done, and when to stop starting new ones (a failure, Ctrl-C).
 */
export interface ScheduleOptions<S extends { name: string }> {
  /** The steps in a deterministic (topological) order: ties start in this order. */
  order: readonly S[];
  dependenciesOf: (step: S) => readonly string[];
  isPending: (name: string) => boolean;
  isDone: (name: string) => boolean;
  /** True once no new step may start (steps already running finish). */
  shouldStop: () => boolean;
  concurrency: number;
  /** Runs one step; must settle (errors are the step's to record, a rejection stops the run). */
  run: (step: S) => Promise<void>;
}

export async function schedule<S extends { name: string }>(options: ScheduleOptions<S>): Promise<void> {
  const running = new Map<string, Promise<void>>();
  const concurrency = Math.max(1, options.concurrency);
  try {
    for (;;) {
      if (options.shouldStop()) break;
      const ready = options.order.filter(
        (s) =>
          options.isPending(s.name) &&
          !running.has(s.name) &&
          options.dependenciesOf(s).every(options.isDone),
      );
      for (const step of ready) {
        if (running.size >= concurrency) break;
        running.set(
          step.name,
          options.run(step).finally(() => running.delete(step.name)),
        );
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    // Never leave a step's promise unsettled behind the run, even when one rejected.
    await Promise.allSettled(running.values());
  }
}
