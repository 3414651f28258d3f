import { z } from "zod";
import { ConfigError, TransientError } from "../errors.js";

/**
 * A small typed client for the MLflow tracking and model-registry REST API
 * (`/api/2.0/mlflow/...`). There is no maintained MLflow client on npm, so
 * this covers only what churn needs: experiments, runs (params, metrics,
 * tags), artifacts through the tracking server's artifact proxy
 * (`mlflow server --serve-artifacts`, the default since MLflow 2), registered
 * models, model versions and aliases. Every answer is validated with zod.
 */

const tag = z.object({ key: z.string(), value: z.string().optional() });
const experiment = z.object({ experiment_id: z.string(), name: z.string() });
const runInfo = z.object({
  run_id: z.string(),
  experiment_id: z.string(),
  artifact_uri: z.string().optional(),
  status: z.string().optional(),
});
const run = z.object({
  info: runInfo,
  data: z
    .object({
      params: z.array(tag).optional(),
      metrics: z.array(z.object({ key: z.string(), value: z.number() })).optional(),
      tags: z.array(tag).optional(),
    })
    .optional(),
});
export type MlflowRun = z.infer<typeof run>;
const modelVersion = z.object({
  name: z.string(),
  version: z.string(),
  run_id: z.string().optional(),
  source: z.string().optional(),
  tags: z.array(tag).optional(),
  aliases: z.array(z.string()).optional(),
});
export type MlflowModelVersion = z.infer<typeof modelVersion>;

/** An error answer from MLflow, with its error_code (e.g. RESOURCE_DOES_NOT_EXIST). */
export class MlflowError extends TransientError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | null,
  ) {
    super(message);
  }
}

export interface MlflowClientOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class MlflowClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(trackingUri: string, options: MlflowClientOptions = {}) {
    if (!/^https?:\/\//.test(trackingUri)) {
      throw new ConfigError(
        `mlflow.tracking_uri must be an http(s) URL of a tracking server (got "${trackingUri}")`,
      );
    }
    this.base = trackingUri.replace(/\/+$/, "");
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  private async call<T>(
    method: "GET" | "POST" | "PATCH",
    path: string,
    schema: z.ZodType<T>,
    body?: unknown,
  ): Promise<T> {
    const url = `${this.base}/api/2.0/mlflow/${path}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new MlflowError(`MLflow at ${this.base} is unreachable: ${(error as Error).message}`, 0, null);
    }
    const text = await response.text();
    if (!response.ok) {
      let code: string | null = null;
      let message = text.slice(0, 300);
      try {
        const parsed = JSON.parse(text) as { error_code?: string; message?: string };
        code = parsed.error_code ?? null;
        message = parsed.message ?? message;
      } catch {
        // not JSON: keep the raw text
      }
      throw new MlflowError(
        `MLflow ${method} ${path}: ${response.status} ${code ?? ""} ${message}`.trim(),
        response.status,
        code,
      );
    }
    const parsed = schema.safeParse(text === "" ? {} : JSON.parse(text));
    if (!parsed.success) {
      throw new MlflowError(
        `MLflow ${method} ${path}: unexpected answer: ${parsed.error.issues[0]?.message}`,
        response.status,
        null,
      );
    }
    return parsed.data;
  }

  /** The experiment named `name`, created when absent. */
  async ensureExperiment(name: string): Promise<string> {
    try {
      const got = await this.call(
        "GET",
        `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
        z.object({ experiment }),
      );
      return got.experiment.experiment_id;
    } catch (error) {
      if (!(error instanceof MlflowError && error.errorCode === "RESOURCE_DOES_NOT_EXIST")) throw error;
    }
    try {
      return (
        await this.call("POST", "experiments/create", z.object({ experiment_id: z.string() }), { name })
      ).experiment_id;
    } catch (error) {
      // Lost a race with another creator: read it back.
      if (!(error instanceof MlflowError && error.errorCode === "RESOURCE_ALREADY_EXISTS")) throw error;
      return this.ensureExperiment(name);
    }
  }

  /** Start a run. */
  async createRun(experimentId: string, runName: string, tags: Record<string, string>): Promise<MlflowRun> {
    const answer = await this.call("POST", "runs/create", z.object({ run }), {
      experiment_id: experimentId,
      run_name: runName,
      start_time: Date.now(),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return answer.run;
  }

  /** One run with its params, metrics and tags. */
  async getRun(runId: string): Promise<MlflowRun> {
    return (await this.call("GET", `runs/get?run_id=${encodeURIComponent(runId)}`, z.object({ run }))).run;
  }

  /** Runs of an experiment matching an MLflow search filter. */
  async searchRuns(experimentId: string, filter: string): Promise<MlflowRun[]> {
    const answer = await this.call("POST", "runs/search", z.object({ runs: z.array(run).optional() }), {
      experiment_ids: [experimentId],
      filter,
      max_results: 100,
    });
    return answer.runs ?? [];
  }

  /** Params (strings, ≤ 6000 chars each) and metrics in one request. */
  async logBatch(
    runId: string,
    params: Record<string, string>,
    metrics: Record<string, number>,
    tags: Record<string, string> = {},
  ): Promise<void> {
    const timestamp = Date.now();
    await this.call("POST", "runs/log-batch", z.object({}), {
      run_id: runId,
      params: Object.entries(params).map(([key, value]) => ({ key, value: value.slice(0, 6000) })),
      metrics: Object.entries(metrics)
        .filter(([, value]) => Number.isFinite(value))
        .map(([key, value]) => ({ key, value, timestamp, step: 0 })),
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
  }

  /** Mark a run FINISHED (or FAILED). */
  async finishRun(runId: string, status: "FINISHED" | "FAILED" = "FINISHED"): Promise<void> {
    await this.call("POST", "runs/update", z.object({}), { run_id: runId, status, end_time: Date.now() });
  }

  /**
   * Upload an artifact through the server's artifact proxy. Needs a run whose
   * artifact_uri is `mlflow-artifacts:/...` (server started with --serve-artifacts).
   */
  async logArtifact(
    run: MlflowRun,
    path: string,
    content: string | Uint8Array,
    contentType = "application/octet-stream",
  ): Promise<void> {
    const uri = run.info.artifact_uri ?? "";
    const prefix = "mlflow-artifacts:/";
    if (!uri.startsWith(prefix)) {
      throw new ConfigError(
        `MLflow run ${run.info.run_id} stores artifacts at "${uri}", which this client cannot write: start the server with --serve-artifacts`,
      );
    }
    const where = `${uri.slice(prefix.length).replace(/^\/+/, "")}/${path}`;
    const url = `${this.base}/api/2.0/mlflow-artifacts/artifacts/${where.split("/").map(encodeURIComponent).join("/")}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: "PUT",
        headers: { "content-type": contentType },
        body: content,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new MlflowError(`MLflow artifact upload ${path}: ${(error as Error).message}`, 0, null);
    }
    if (!response.ok) {
      throw new MlflowError(
        `MLflow artifact upload ${path}: ${response.status} ${(await response.text()).slice(0, 300)}`,
        response.status,
        null,
      );
    }
  }

  /** Artifact paths directly under `path` of a run. */
  async listArtifacts(runId: string, path = ""): Promise<string[]> {
    const answer = await this.call(
      "GET",
      `artifacts/list?run_id=${encodeURIComponent(runId)}${path ? `&path=${encodeURIComponent(path)}` : ""}`,
      z.object({ files: z.array(z.object({ path: z.string() })).optional() }),
    );
    return (answer.files ?? []).map((f) => f.path);
  }

  /** Create the registered model when absent. */
  async ensureRegisteredModel(name: string): Promise<void> {
    try {
      await this.call("POST", "registered-models/create", z.object({}), { name });
    } catch (error) {
      if (!(error instanceof MlflowError && error.errorCode === "RESOURCE_ALREADY_EXISTS")) throw error;
    }
  }

  /** Every version of a registered model (all pages). */
  async modelVersions(name: string): Promise<MlflowModelVersion[]> {
    const all: MlflowModelVersion[] = [];
    let token: string | undefined;
    do {
      const query = new URLSearchParams({
        filter: `name='${name.replace(/'/g, "\\'")}'`,
        max_results: "1000",
      });
      if (token) query.set("page_token", token);
      const answer = await this.call(
        "GET",
        `model-versions/search?${query}`,
        z.object({
          model_versions: z.array(modelVersion).optional(),
          next_page_token: z.string().optional(),
        }),
      );
      all.push(...(answer.model_versions ?? []));
      token = answer.next_page_token || undefined;
    } while (token);
    return all;
  }

  /** Register a new model version. */
  async createModelVersion(
    name: string,
    source: string,
    runId: string | null,
    tags: Record<string, string>,
    description: string,
  ): Promise<MlflowModelVersion> {
    const answer = await this.call(
      "POST",
      "model-versions/create",
      z.object({ model_version: modelVersion }),
      {
        name,
        source,
        ...(runId ? { run_id: runId } : {}),
        description,
        tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
      },
    );
    return answer.model_version;
  }

  /** Point `alias` of a registered model at `version`. */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call("POST", "registered-models/alias", z.object({}), { name, alias, version });
  }

  /** The model version an alias points at, or null. */
  async getAlias(name: string, alias: string): Promise<MlflowModelVersion | null> {
    try {
      const query = new URLSearchParams({ name, alias });
      return (
        await this.call("GET", `registered-models/alias?${query}`, z.object({ model_version: modelVersion }))
      ).model_version;
    } catch (error) {
      if (
        error instanceof MlflowError &&
        (error.errorCode === "RESOURCE_DOES_NOT_EXIST" || error.errorCode === "INVALID_PARAMETER_VALUE")
      )
        return null;
      throw error;
    }
  }
}
