import { z } from "zod";
import { csvField } from "../common/csv/write.js";
import { ChurnError, NotFoundError, TransientError, UsageError } from "../common/errors.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { formatProbability } from "../models/predictor.js";
import { passthroughText, textField } from "./scores-csv.js";

/**
 * Batch scoring through a model server (Open Inference Protocol V2), like
 * Seldon's batch processor: record batches are cut into mini-batches, sent by
 * a few concurrent workers, retried with backoff on 5xx and connection
 * errors, and written back in input order with the same formatting functions
 * as in-process scoring, so scores.csv is byte-identical (DESIGN identity
 * rule). A mini-batch the server refuses (4xx) is bisected until the bad rows
 * are alone; those become rejected rows with the server's reason. The model
 * version is pinned by the first metadata call, so a hot reload mid-run fails
 * the run instead of mixing two models in one file.
 */

export interface BatchClientOptions {
  /** Server base URL, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Served model name. */
  model?: string;
  /** Rows per request. */
  batchRows?: number;
  /** Requests in flight at once. */
  concurrency?: number;
  /** Retries of one request after a 5xx or a connection error. */
  retries?: number;
  /** First backoff; doubles every retry (with jitter). */
  backoffMs?: number;
  /** Time limit of one request. */
  timeoutMs?: number;
}

/** Formatting options of scores.csv (churn.yaml score.reasons, passthrough and publish.formula_guard). */
export interface LineOptions {
  reasons: number;
  passthrough: readonly string[];
  formulaGuard: boolean;
}

/** A row the server refused, as rejected.csv wants it. */
export interface ServerRejectedRow {
  line: number;
  column: string;
  reason: string;
}

const DEFAULTS = {
  model: "churn",
  batchRows: 500,
  concurrency: 4,
  retries: 6,
  backoffMs: 100,
  timeoutMs: 60_000,
};

const tensorSchema = z.object({ name: z.string(), data: z.array(z.unknown()) });
const inferResponseSchema = z.object({
  model_version: z.string().optional(),
  outputs: z.array(tensorSchema),
});
const metadataSchema = z.object({ name: z.string(), versions: z.array(z.string()).optional() });
const errorSchema = z.object({ error: z.string() });

/** A 4xx answer for a set of rows: bisect, or reject the row when it is alone. */
class RowsRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The V2 client of one batch run (pinned to one model version). */
export class BatchClient {
  readonly options: Required<BatchClientOptions>;
  private version: string | undefined;
  /** Requests retried after a 5xx or a connection error (for the summary). */
  retried = 0;

  constructor(options: BatchClientOptions) {
    const url = options.url.replace(/\/+$/, "");
    if (!/^https?:\/\//.test(url))
      throw new UsageError(`the server URL must start with http:// or https://, got "${url}"`);
    this.options = { ...DEFAULTS, ...options, url };
    if (this.options.batchRows < 1 || this.options.concurrency < 1)
      throw new UsageError("batchRows and concurrency must be at least 1");
  }

  /** One HTTP call with retries on connection errors, timeouts and 5xx/429; 4xx comes back as RowsRefused. */
  private async call(method: "GET" | "POST", path: string, body?: unknown): Promise<unknown> {
    const { url, retries, backoffMs, timeoutMs } = this.options;
    let last = "";
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        this.retried++;
        await sleep(backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      }
      let response: Response;
      try {
        response = await fetch(`${url}${path}`, {
          method,
          headers: body === undefined ? {} : { "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        last = `${(error as Error).message}${(error as Error).cause ? `: ${String((error as { cause: unknown }).cause)}` : ""}`;
        if (attempt < retries) continue;
        throw new TransientError(`${method} ${url}${path} failed after ${attempt + 1} attempts: ${last}`);
      }
      const text = await response.text();
      if (response.ok) {
        try {
          return JSON.parse(text);
        } catch {
          throw new TransientError(
            `${method} ${url}${path}: the server answered ${response.status} with malformed JSON`,
          );
        }
      }
      const message = errorMessage(text, response.status);
      if (response.status >= 500 || response.status === 429 || response.status === 408) {
        last = `${response.status} ${message}`;
        if (attempt < retries) continue;
        throw new TransientError(`${method} ${url}${path} failed after ${attempt + 1} attempts: ${last}`);
      }
      if (response.status === 404)
        throw new NotFoundError(
          `${method} ${url}${path}: ${message} (did the served model change during the run?)`,
        );
      throw new RowsRefused(response.status, message);
    }
  }

  /** Pin the served model version (retrying while the server loads it). */
  async connect(): Promise<string> {
    if (this.version) return this.version;
    let meta: z.infer<typeof metadataSchema>;
    try {
      meta = parse(
        metadataSchema,
        await this.call("GET", `/v2/models/${this.options.model}`),
        "model metadata",
      );
    } catch (error) {
      if (error instanceof RowsRefused)
        throw new UsageError(`the server refused the metadata call: ${error.message}`);
      throw error;
    }
    const version = meta.versions?.[0];
    if (!version) throw new UsageError(`the server names no version of model ${this.options.model}`);
    this.version = version;
    return version;
  }

  /** Score rows [from, to) of a batch into scores.csv lines; refused rows go to `rejected`. */
  async scoreRange(
    schema: DatasetSchema,
    batch: RowBatch,
    from: number,
    to: number,
    options: LineOptions,
    rejected: ServerRejectedRow[],
  ): Promise<string> {
    const version = await this.connect();
    try {
      const body = inferRequest(schema, batch, from, to);
      const response = parse(
        inferResponseSchema,
        await this.call("POST", `/v2/models/${this.options.model}/versions/${version}/infer`, body),
        "infer response",
      );
      return formatLines(schema, batch, from, to, response, version, options);
    } catch (error) {
      if (!(error instanceof RowsRefused)) throw error;
      if (to - from === 1) {
        const column = /(?:column|input) "([^"]+)"/.exec(error.message)?.[1] ?? "";
        rejected.push({
          line: batch.lines[from] ?? from + 1,
          column,
          reason: `server ${error.status}: ${error.message}`,
        });
        return "";
      }
      // Bisect: the halves that pass are scored, the bad rows end up alone.
      const mid = from + Math.floor((to - from) / 2);
      const left = await this.scoreRange(schema, batch, from, mid, options, rejected);
      return left + (await this.scoreRange(schema, batch, mid, to, options, rejected));
    }
  }
}

function errorMessage(text: string, status: number): string {
  try {
    return errorSchema.parse(JSON.parse(text)).error;
  } catch {
    return text.slice(0, 200) || `HTTP ${status}`;
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new ChurnError(`the server's ${what} is not what V2 describes: ${result.error.message}`);
  return result.data;
}

/** A V2 infer request with one named input per feature column (FP64 or BYTES; null = missing). */
export function inferRequest(schema: DatasetSchema, batch: RowBatch, from: number, to: number) {
  const n = to - from;
  const inputs = schema.columns
    .filter((c) => c.role === "feature")
    .map((c) => {
      const values = batch.columns[c.name];
      if (values === undefined) throw new UsageError(`the rows have no feature column "${c.name}"`);
      const data: Array<number | string | null> = new Array(n);
      if (values instanceof Float64Array) {
        for (let i = 0; i < n; i++) {
          const v = values[from + i]!;
          data[i] = Number.isNaN(v) ? null : v;
        }
        return { name: c.name, shape: [n], datatype: "FP64", data };
      }
      for (let i = 0; i < n; i++) data[i] = values[from + i] ?? null;
      return { name: c.name, shape: [n], datatype: "BYTES", data };
    });
  return {
    inputs,
    outputs: [
      { name: "probability" },
      { name: "tier" },
      { name: "reasons", parameters: { format: "json" } },
      { name: "reason_codes" },
    ],
  };
}

/** scores.csv lines of rows [from, to) from a V2 response, formatted exactly as in-process scoring does. */
function formatLines(
  schema: DatasetSchema,
  batch: RowBatch,
  from: number,
  to: number,
  response: z.infer<typeof inferResponseSchema>,
  version: string,
  options: LineOptions,
): string {
  const n = to - from;
  const output = (name: string) => {
    const t = response.outputs.find((o) => o.name === name);
    if (!t || t.data.length !== n)
      throw new ChurnError(`the server's infer response lacks output "${name}" with ${n} elements`);
    return t.data;
  };
  if (response.model_version !== undefined && response.model_version !== version)
    throw new ChurnError(
      `the server answered with model ${response.model_version}, not the pinned ${version}`,
    );
  const p = output("probability");
  const tiers = output("tier");
  const reasons = output("reasons");
  const codes = output("reason_codes");
  const k = options.reasons;
  const pass = options.passthrough.map((name) => {
    const c = batch.columns[name];
    if (c === undefined) throw new UsageError(`the rows have no passthrough column "${name}"`);
    return c;
  });
  let out = "";
  for (let i = 0; i < n; i++) {
    const r = from + i;
    const pi = p[i];
    const tier = tiers[i];
    if (
      typeof pi !== "number" ||
      typeof tier !== "string" ||
      typeof reasons[i] !== "string" ||
      typeof codes[i] !== "string"
    )
      throw new ChurnError(`the server's infer response has a malformed element ${i}`);
    let line = `${csvField(batch.ids[r]!)},${formatProbability(pi)},${tier}`;
    // Reasons come as JSON arrays (asked for in the request), so a "; " inside a value cannot split one.
    const texts = reasonList(reasons[i] as string, batch.lines[r] ?? r + 1);
    if (texts.length > k)
      throw new ChurnError(
        `line ${batch.lines[r]}: the server sent ${texts.length} reasons, more than score.reasons = ${k} (is it serving with the same churn.yaml?)`,
      );
    for (let j = 0; j < k; j++)
      line += `,${texts[j] === undefined ? "" : textField(texts[j]!, options.formulaGuard)}`;
    line += `,${textField(codes[i] as string, options.formulaGuard)},${version}`;
    for (let j = 0; j < pass.length; j++)
      line += `,${passthroughText(schema, options.passthrough[j]!, pass[j]![r] ?? null, options.formulaGuard)}`;
    out += `${line}\n`;
  }
  return out;
}

function reasonList(text: string, line: number): string[] {
  try {
    const list = JSON.parse(text) as unknown;
    if (Array.isArray(list) && list.every((x) => typeof x === "string")) return list;
  } catch {}
  throw new ChurnError(
    `line ${line}: the server's reasons are not a JSON array of strings (does it support reasons format json?)`,
  );
}

/** rejected.csv lines (no header) of rows the server refused; raw is left empty (the CSV text is not at hand). */
export function rejectedLines(rows: readonly ServerRejectedRow[]): string {
  return rows.map((r) => `${r.line},${csvField(r.column)},${csvField(r.reason)},\n`).join("");
}

/**
 * Score record batches through the server; yields scores.csv text (no header)
 * in input order while up to `concurrency` mini-batches are in flight.
 */
export async function* scoreViaServer(
  client: BatchClient,
  schema: DatasetSchema,
  batches: AsyncIterable<RowBatch>,
  options: LineOptions,
  rejected: ServerRejectedRow[],
): AsyncGenerator<string> {
  await client.connect();
  const { batchRows, concurrency } = client.options;
  const inFlight: Promise<{ text: string; rejected: ServerRejectedRow[] }>[] = [];
  const settle = async () => {
    const done = await inFlight.shift()!;
    rejected.push(...done.rejected);
    return done.text;
  };
  try {
    for await (const batch of batches) {
      for (let from = 0; from < batch.numRows; from += batchRows) {
        const to = Math.min(batch.numRows, from + batchRows);
        const mine: ServerRejectedRow[] = [];
        const task = client
          .scoreRange(schema, batch, from, to, options, mine)
          .then((text) => ({ text, rejected: mine }));
        task.catch(() => {}); // awaited in order below
        inFlight.push(task);
        if (inFlight.length >= concurrency) yield await settle();
      }
    }
    while (inFlight.length > 0) yield await settle();
  } finally {
    // On failure, let requests still running finish quietly before the caller moves on.
    await Promise.allSettled(inFlight);
  }
}
