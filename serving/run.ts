import type { Logger } from "../components/common/log.js";
import type { ModelServer } from "./server.js";

/**
 * Running a model server as a process: listen, load the models (readiness
 * turns on only then), and on SIGTERM/SIGINT drain: readiness off, stop
 * accepting, let requests in flight finish, then resolve so the caller can
 * exit. A second signal or the drain timeout closes remaining connections.
 */
export interface RunOptions {
  host: string;
  port: number;
  logger: Logger;
  /** Longest wait for requests in flight after a signal. */
  drainTimeoutMs?: number;
  /** Signals that start the drain; tests may pass an EventEmitter-like process. */
  signals?: NodeJS.Signals[];
  proc?: Pick<NodeJS.Process, "once" | "removeListener">;
}

/** Listen, load, serve until a signal, drain; resolves with the address it served on. */
export async function runUntilSignal(server: ModelServer, options: RunOptions): Promise<{ address: string }> {
  const proc = options.proc ?? process;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const address = await server.app.listen({ host: options.host, port: options.port });
  options.logger.info("model server listening (not ready until the model is loaded)", { address });
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((resolve) => {
    stop = resolve;
  });
  const handlers = signals.map((signal) => {
    const handler = () => stop(signal);
    proc.once(signal, handler);
    return [signal, handler] as const;
  });
  try {
    // Readiness is announced when it happens: with the first loads, or later when a model appears.
    void server.whenReady().then((ready) => {
      if (ready) {
        options.logger.info("model server ready", {
          address,
          models: server.core.loaded().map((m) => `${m.name}@${m.version}`),
        });
      }
    });
    const loading = server.start();
    loading.catch(() => {}); // observed below; this only keeps a late rejection from going unhandled
    // A signal during the first load still drains cleanly.
    const first = await Promise.race([loading.then(() => null), stopped]);
    if (first === null && !server.ready()) {
      options.logger.info("model server waiting for a model (live, not ready)", {
        address,
        reason: server.notReadyBecause(),
      });
    }
    const signal = first ?? (await stopped);
    options.logger.info("draining: finishing requests in flight", { signal });
    const drainMs = options.drainTimeoutMs ?? 25_000;
    const timer = setTimeout(() => server.app.server.closeAllConnections(), drainMs);
    try {
      await server.close();
    } finally {
      clearTimeout(timer);
    }
    options.logger.info("model server stopped");
    return { address };
  } catch (error) {
    await server.close().catch(() => {});
    throw error;
  } finally {
    for (const [signal, handler] of handlers) proc.removeListener(signal, handler);
  }
}
