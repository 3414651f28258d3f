import { z } from "zod";
import type { ChurnConfig } from "../components/common/config/index.js";
import {
  compileGraph,
  compileSettingsOf,
  kfpDocuments,
  PIPELINE_PARAMETERS,
} from "../pipelines/compile/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import type { VertexTarget } from "./config.js";
import type { LaunchRequest, LaunchResult, RunLauncher } from "./launcher.js";

/**
 * The run-id label of a Vertex pipeline job. Google labels allow only
 * lowercase letters, digits, `_` and `-`, so not the Kubernetes label
 * (`churn.io/run-id`) the other launchers use.
 */
export const VERTEX_RUN_LABEL = "churn-run-id";

/** A bearer token for each request (the function's service account, refreshed before it lapses). */
export type BearerToken = () => Promise<string>;

/**
 * `CHURN_LAUNCHER=kfp`: submits the run to Vertex AI Pipelines (Google's
 * managed Kubeflow Pipelines) as a PipelineJob of the weekly pipeline spec
 * that `churn pipeline compile weekly --target kfp` writes, with the run id as
 * its pipelineJobId. The id is the idempotency: a second submission for one
 * run gets 409 from Vertex and is a success once a `get` shows the job there
 * is this run's. (Open-source KFP's REST API takes no client-chosen run id,
 * so it could only list-then-create, which duplicate events can race: not
 * offered.)
 */
export class VertexPipelinesLauncher implements RunLauncher {
  constructor(
    private readonly target: VertexTarget,
    private readonly token: BearerToken,
    /** The bucket's churn.yaml kubernetes section (the image the steps run). */
    private readonly configFor: (bucketUri: string) => Promise<Pick<ChurnConfig, "kubernetes">>,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  async launch(request: LaunchRequest): Promise<LaunchResult> {
    const { kubernetes } = await this.configFor(request.bucketUri);
    const [pipelineSpec] = kfpDocuments(compileGraph(weeklyPipeline), compileSettingsOf(kubernetes));
    const body = {
      displayName: `churn-weekly ${request.object}`.slice(0, 128),
      pipelineSpec,
      runtimeConfig: {
        gcsOutputDirectory: this.target.pipelineRoot,
        parameterValues: {
          [PIPELINE_PARAMETERS.bucket]: request.bucketUri,
          [PIPELINE_PARAMETERS.runId]: request.runId,
          [PIPELINE_PARAMETERS.trigger]: request.object,
        },
      },
      labels: { [VERTEX_RUN_LABEL]: request.runId },
      ...(this.target.serviceAccount ? { serviceAccount: this.target.serviceAccount } : {}),
    };
    const jobs = `${this.target.endpoint}/v1/${this.target.parent}/pipelineJobs`;
    const handle = `${this.target.parent}/pipelineJobs/${request.runId}`;
    const created = await this.call("POST", `${jobs}?pipelineJobId=${request.runId}`, body, "create");
    if (created.status !== 409) return { kind: "vertex-pipeline-job", handle };
    const existing = await this.call("GET", `${jobs}/${request.runId}`, undefined, "get");
    const owner = pipelineJobSchema.safeParse(existing.json).data?.labels?.[VERTEX_RUN_LABEL];
    if (owner !== request.runId)
      throw new Error(
        `Vertex pipeline job ${handle} already exists but is labelled ${VERTEX_RUN_LABEL}=${owner ?? "(none)"}, not run ${request.runId}`,
      );
    return { kind: "vertex-pipeline-job (already there)", handle };
  }

  /** One API call; any answer but 2xx (and 409 on create) is an error naming what to fix. */
  private async call(
    method: "POST" | "GET",
    url: string,
    body: unknown,
    doing: "create" | "get",
  ): Promise<{ status: number; json: unknown }> {
    const response = await this.fetchImpl(url, {
      method,
      headers: {
        Authorization: `Bearer ${await this.token()}`,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    if (response.ok || (doing === "create" && response.status === 409))
      return { status: response.status, json: parseJson(text) };
    throw new Error(
      `Vertex AI Pipelines at ${this.target.endpoint} refused to ${doing} a pipeline job in ${this.target.parent} ` +
        `(HTTP ${response.status}): ${errorMessageOf(text)}${hintFor(response.status)}`,
    );
  }
}

/** The part of a PipelineJob the launcher reads back. */
const pipelineJobSchema = z.object({ labels: z.record(z.string(), z.string()).optional() });

/** How Google APIs describe an error. */
const googleErrorSchema = z.object({ error: z.object({ message: z.string() }) });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** The API's own message, or the body as sent when it is not a Google error. */
function errorMessageOf(text: string): string {
  const parsed = googleErrorSchema.safeParse(parseJson(text));
  return parsed.success ? parsed.data.error.message : text.slice(0, 500) || "(no body)";
}

/** What a deployment mistake behind 401 / 403 / 404 needs. */
function hintFor(status: number): string {
  if (status === 401) return "; the function's access token was not accepted";
  if (status === 403)
    return (
      "; the function's service account needs roles/aiplatform.user on the project " +
      "(and roles/iam.serviceAccountUser on CHURN_VERTEX_SERVICE_ACCOUNT when set)"
    );
  if (status === 404) return "; check CHURN_VERTEX_PARENT (projects/<project>/locations/<region>)";
  return "";
}
