/** How waitFor polls. */
export interface WaitOptions {
  /** Give up after this long (default 30 s: room for a loaded 2-core CI machine). */
  timeoutMs?: number;
  /** Pause between probes (default 100 ms). */
  intervalMs?: number;
  /**
   * Checked before each probe: a reason to stop waiting at once (a server
   * process that died, say), which becomes the error message.
   */
  abortIf?: () => string | null | Promise<string | null>;
  /** Extra text for a time-out (a process log's tail, say). */
  context?: () => string | Promise<string>;
}

/**
 * The one polling helper of the tests: calls `probe` until it returns a value
 * other than null, undefined or false, and returns it. A probe that throws
 * counts as "not yet"; its last error is named in the time-out message, with
 * `what` was awaited.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  options: WaitOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 100 } = options;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const aborted = await options.abortIf?.();
    if (aborted) throw new Error(`stopped waiting for ${what}: ${aborted}`);
    try {
      const value = await probe();
      if (value !== null && value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      const because = last === undefined ? "" : `: last error ${String(last)}`;
      const extra = options.context ? `\n${await options.context()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${because}${extra}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
