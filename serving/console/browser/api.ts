import type { CustomerAnswer } from "../../lookup/answer.js";
import type {
  ApiErrorBody,
  ChampionChange,
  ConsoleStatus,
  LogHeaders,
  ModelDetail,
  ModelListing,
  RunDetail,
  RunsResponse,
  WeekDetail,
  WeeksResponse,
} from "../api-types.js";

/**
 * The console's JSON API as the pages call it: one function per route, each
 * typed with the answer the server declares (../api-types.ts). Same origin
 * only: every path starts with /api/.
 */

/** An answer other than 2xx, with the server's reason. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The reason of an error answer: the JSON `error`, or the text itself. */
async function failure(response: Response): Promise<ApiError> {
  const type = response.headers.get("content-type") ?? "";
  const body: unknown = type.includes("json") ? await response.json() : await response.text();
  const reason = typeof body === "object" && body !== null ? (body as ApiErrorBody).error : String(body);
  return new ApiError(response.status, reason);
}

async function json<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

const part = encodeURIComponent;

/** Headers of a change request: JSON, and the bearer token kept for this tab (if any). */
function changeHeaders(token: string | null): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  return headers;
}

function change(path: string, token: string | null, reason?: string): Promise<ChampionChange> {
  return json<ChampionChange>(path, {
    method: "POST",
    headers: changeHeaders(token),
    body: JSON.stringify(reason ? { reason } : {}),
  });
}

export const getStatus = () => json<ConsoleStatus>("/api/status");
export const listRuns = (query: URLSearchParams) => json<RunsResponse>(`/api/runs?${query}`);
export const getRun = (runId: string) => json<RunDetail>(`/api/runs/${part(runId)}`);
export const listModels = () => json<ModelListing>("/api/models");
export const getModel = (version: string) => json<ModelDetail>(`/api/models/${part(version)}`);
export const listWeeks = () => json<WeeksResponse>("/api/weeks");
export const getWeek = (stem: string) => json<WeekDetail>(`/api/weeks/${part(stem)}`);
/** One customer's score in the newest complete week (the customer lookup). */
export const findCustomer = (id: string) => json<CustomerAnswer>(`/api/customers/${part(id)}`);

/** Make a model the champion (the console must allow changes). */
export const promoteModel = (version: string, token: string | null, reason?: string) =>
  change(`/api/models/${part(version)}/promote`, token, reason);
/** Give the champion back to the one it replaced. */
export const rollbackChampion = (token: string | null, reason?: string) =>
  change("/api/models/rollback", token, reason);

/** Where a step's log is served (the page links to it for downloads). */
export function stepLogUrl(runId: string, step: string): string {
  return `/api/runs/${part(runId)}/steps/${part(step)}/log`;
}

/** A log header, by one of the names the server declares. */
function logHeader(response: Response, name: keyof LogHeaders): string | null {
  return response.headers.get(name);
}

/** The end of a step's log: its last `bytes` from a whole line, and what the headers say about it. */
/** How a log is asked for: `raw` as the step wrote it (JSON lines), `text` as `churn runs logs` prints it. */
export type LogFormat = "raw" | "text";

export async function stepLogTail(
  url: string,
  bytes: number,
  format: LogFormat = "raw",
): Promise<{ text: string; run: string | null; truncated: boolean; size: number }> {
  const response = await fetch(`${url}?tail=${bytes}&format=${format}`);
  if (!response.ok) throw await failure(response);
  return {
    text: await response.text(),
    run: logHeader(response, "x-log-run"),
    truncated: logHeader(response, "x-log-truncated") === "true",
    size: Number(logHeader(response, "x-log-size")),
  };
}

/** A step's whole log, chunk by chunk as it arrives (big logs show before the last byte). */
export async function* stepLogChunks(url: string, format: LogFormat = "raw"): AsyncGenerator<string> {
  const response = await fetch(`${url}?format=${format}`);
  if (!response.ok || !response.body) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}
