import type { Logger } from "../components/common/log.js";

/** The JSON message a webhook receives (DESIGN: the "who to contact" alert). */
export type Notification =
  | {
      event: "published";
      pipeline: string;
      run_id: string;
      bucket: string;
      trigger: string;
      model_version: string | null;
      counts: Record<string, number>;
      files: string[];
    }
  | {
      event: "failed";
      pipeline: string;
      run_id: string;
      bucket: string;
      trigger: string;
      step: string | null;
      exit_code: number;
      reason: string;
    };

export interface NotifyOptions {
  attempts?: number;
  timeoutMs?: number;
  /** Base backoff; doubles each retry. */
  backoffMs?: number;
  fetchImpl?: typeof fetch;
  logger?: Logger;
}

/**
 * POST a notification with retries and a timeout. Never throws: a failed
 * notification is logged and must never fail the run. Returns whether the
 * receiver acknowledged it (2xx).
 */
export async function sendNotification(
  url: string,
  message: Notification,
  options: NotifyOptions = {},
): Promise<boolean> {
  const attempts = options.attempts ?? 4;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const backoffMs = options.backoffMs ?? 500;
  const doFetch = options.fetchImpl ?? fetch;
  const body = JSON.stringify(message);
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await doFetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "churn-pipeline" },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Drain the body so the connection can be reused or closed.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return true;
      last = `HTTP ${response.status}`;
      // A 4xx other than 408/429 will not get better by retrying.
      if (response.status < 500 && response.status !== 408 && response.status !== 429) break;
    } catch (error) {
      last = (error as Error).message;
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, backoffMs * 2 ** (attempt - 1)));
  }
  options.logger?.warn("webhook notification failed; the run is not affected", {
    event: message.event,
    run_id: message.run_id,
    reason: last,
  });
  return false;
}
