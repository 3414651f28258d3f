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

/**
 * The human sentence of a notification: Slack and Google Chat incoming
 * webhooks show a message's `text` field, so the people in the channel read
 * what happened and where to look without opening the JSON.
 */
export function notificationText(message: Notification): string {
  if (message.event === "failed") {
    const where = message.step ? ` at step ${message.step}` : "";
    return `The ${message.pipeline} run on ${message.trigger || "the training data"} failed${where} (exit ${message.exit_code}): ${message.reason} Logs: churn runs logs ${message.run_id} --bucket ${message.bucket}`;
  }
  const scored = message.counts.scored;
  const high = message.counts.high;
  const what =
    scored === undefined
      ? "its results are published"
      : `${scored.toLocaleString("en-US")} customers scored${high === undefined ? "" : `, ${high.toLocaleString("en-US")} at high risk`}`;
  // Whom to contact first: the contact list when the run published one, else the scores.
  const list =
    message.files.find((f) => f.endsWith("/contact-list.csv")) ??
    message.files.find((f) => f.endsWith("/scores.csv"));
  const model = message.model_version ? ` (model ${message.model_version})` : "";
  return `The ${message.pipeline} run on ${message.trigger} is published: ${what}${model}.${list ? ` Who to contact: ${message.bucket}/${list}` : ""}`;
}

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
  const body = JSON.stringify({ text: notificationText(message), ...message });
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
