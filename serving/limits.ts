import { DEFAULT_CORE_LIMITS } from "./core.js";

/** Request limits of the model server (kept apart from server.ts so the CLI can show them without loading Fastify). */
export interface ServerLimits {
  /** Largest request body accepted, in bytes (413 beyond). */
  bodyBytes: number;
  /** Largest batch accepted in one request, in rows (422 beyond). */
  maxRows: number;
  /** Time a request may take to arrive completely (408 beyond). */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
}

/** The limits `churn serve` starts with. */
export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 16 * 1024 * 1024,
  maxRows: DEFAULT_CORE_LIMITS.maxRows,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
};
