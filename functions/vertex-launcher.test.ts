/**
 * The kfp launcher against a recording stand-in for Vertex AI Pipelines' REST
 * API (a real Vertex project is out of this machine's reach): what it submits
 * (the compiled weekly pipeline spec, the run's parameters and label, the run
 * id as pipelineJobId), how it treats the 409 of a second submission, and the
 * message of a refusal. The pipeline spec itself is checked against kfp's own
 * PipelineSpec message and SDK in test/compile.test.ts.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../components/common/config/index.js";
import { silentLogger } from "../components/common/log.js";
import { openStorage } from "../components/common/storage/index.js";
import { compileGraph, compileSettingsOf, kfpDocuments } from "../pipelines/compile/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { parseFunctionsEnv, vertexTargetOf } from "./config.js";
import { handleWeeklyUpload } from "./on-weekly-upload.js";
import { VERTEX_RUN_LABEL, VertexPipelinesLauncher } from "./vertex-launcher.js";

const PARENT = "projects/churn-test-1/locations/europe-west1";
const config = parseConfig({
  id_column: "id",
  kubernetes: { image: "europe-docker.pkg.dev/p/churn/churn:1.2.3" },
});

interface Recorded {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

/** Pipeline jobs by id, as Vertex keeps them: a create of a taken id is 409 ALREADY_EXISTS. */
class VertexStandIn {
  readonly jobs = new Map<string, unknown>();
  readonly requests: Recorded[] = [];
  refuseWith: number | null = null;
  server!: Server;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.answer(req).then(([status, body]) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async answer(req: IncomingMessage): Promise<[number, unknown]> {
    let text = "";
    for await (const chunk of req) text += chunk;
    const body = text ? JSON.parse(text) : undefined;
    this.requests.push({
      method: req.method!,
      url: req.url!,
      authorization: req.headers.authorization,
      body,
    });
    if (this.refuseWith !== null)
      return [
        this.refuseWith,
        { error: { code: this.refuseWith, message: "Permission denied", status: "X" } },
      ];
    const url = new URL(req.url!, "http://x");
    const prefix = `/v1/${PARENT}/pipelineJobs`;
    if (req.method === "POST" && url.pathname === prefix) {
      const id = url.searchParams.get("pipelineJobId")!;
      if (this.jobs.has(id))
        return [409, { error: { code: 409, message: `${id} already exists`, status: "ALREADY_EXISTS" } }];
      this.jobs.set(id, { ...body, name: `${PARENT}/pipelineJobs/${id}`, state: "PIPELINE_STATE_PENDING" });
      return [200, this.jobs.get(id)];
    }
    if (req.method === "GET" && url.pathname.startsWith(`${prefix}/`)) {
      const job = this.jobs.get(url.pathname.slice(prefix.length + 1));
      return job ? [200, job] : [404, { error: { code: 404, message: "not found" } }];
    }
    return [400, { error: { code: 400, message: `unexpected ${req.method} ${req.url}` } }];
  }
}

let vertex: VertexStandIn;
let endpoint: string;
beforeEach(async () => {
  vertex = new VertexStandIn();
  endpoint = await vertex.start();
});
afterEach(() => new Promise<void>((resolve) => vertex.server.close(() => resolve())));

const launcher = (serviceAccount?: string) =>
  new VertexPipelinesLauncher(
    { parent: PARENT, endpoint, pipelineRoot: "gs://churn-bucket/vertex", serviceAccount },
    async () => "token-1",
    async () => config,
  );
const request = {
  runId: "r-0123456789abcdef",
  pipeline: "weekly" as const,
  bucketUri: "gs://churn-bucket",
  object: "weekly/2026-W49.csv",
  generation: "7",
};

describe("the kfp launcher (Vertex AI Pipelines)", () => {
  it("submits the compiled weekly pipeline spec as a job named by the run id, with the run's parameters", async () => {
    const result = await launcher("runner@churn-test-1.iam.gserviceaccount.com").launch(request);
    expect(result).toEqual({
      kind: "vertex-pipeline-job",
      handle: `${PARENT}/pipelineJobs/${request.runId}`,
    });
    const [sent] = vertex.requests;
    expect(sent).toMatchObject({
      method: "POST",
      url: `/v1/${PARENT}/pipelineJobs?pipelineJobId=${request.runId}`,
      authorization: "Bearer token-1",
    });
    const [spec] = kfpDocuments(compileGraph(weeklyPipeline), compileSettingsOf(config.kubernetes));
    expect(sent!.body).toEqual({
      displayName: "churn-weekly weekly/2026-W49.csv",
      pipelineSpec: spec,
      runtimeConfig: {
        gcsOutputDirectory: "gs://churn-bucket/vertex",
        parameterValues: { bucket: "gs://churn-bucket", run_id: request.runId, trigger: request.object },
      },
      labels: { [VERTEX_RUN_LABEL]: request.runId },
      serviceAccount: "runner@churn-test-1.iam.gserviceaccount.com",
    });
    // The steps run the bucket's image.
    expect(JSON.stringify(spec)).toContain(config.kubernetes.image);
  });

  it("four deliveries of one upload through the weekly handler give exactly one job", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vertex-"));
    try {
      const storage = await openStorage(dir);
      await storage.write("weekly/2026-W49.csv", "id\n1\n");
      const event = {
        id: "e1",
        type: "google.cloud.storage.object.v1.finalized",
        data: { bucket: "churn-bucket", name: "weekly/2026-W49.csv", generation: "7" },
      };
      const deps = { openBucket: async () => storage, launcher: launcher(), logger: silentLogger };
      const outcomes = await Promise.all([1, 2, 3, 4].map(() => handleWeeklyUpload(event, deps)));
      expect(outcomes.filter((o) => o.action === "started")).toHaveLength(1);
      expect(vertex.jobs.size).toBe(1);
      // A redelivery after the marker was given back (a crash between marker and launch) is a 409: still one job.
      const runId = [...vertex.jobs.keys()][0]!;
      const again = await launcher().launch({ ...request, runId, bucketUri: storage.uri });
      expect(again.kind).toBe("vertex-pipeline-job (already there)");
      expect(vertex.jobs.size).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a taken job id that belongs to another run", async () => {
    vertex.jobs.set(request.runId, { labels: { [VERTEX_RUN_LABEL]: "r-ffffffffffffffff" } });
    await expect(launcher().launch(request)).rejects.toThrow(
      `already exists but is labelled ${VERTEX_RUN_LABEL}=r-ffffffffffffffff, not run ${request.runId}`,
    );
  });

  it("a refusal names the API, the parent, Vertex's message and the role to grant", async () => {
    vertex.refuseWith = 403;
    await expect(launcher().launch(request)).rejects.toThrow(
      `Vertex AI Pipelines at ${endpoint} refused to create a pipeline job in ${PARENT} (HTTP 403): Permission denied; the function's service account needs roles/aiplatform.user`,
    );
  });
});

describe("the kfp launcher's settings", () => {
  it("needs the parent and the pipeline root, each checked", () => {
    expect(() => parseFunctionsEnv({ CHURN_LAUNCHER: "kfp" })).toThrow(
      /CHURN_VERTEX_PARENT: required when CHURN_LAUNCHER is kfp; CHURN_VERTEX_PIPELINE_ROOT: required/,
    );
    expect(() =>
      parseFunctionsEnv({
        CHURN_LAUNCHER: "kfp",
        CHURN_VERTEX_PARENT: "my-project",
        CHURN_VERTEX_PIPELINE_ROOT: "/tmp",
      }),
    ).toThrow(
      /CHURN_VERTEX_PARENT: want projects\/<project>\/locations\/<region>; CHURN_VERTEX_PIPELINE_ROOT: want gs:/,
    );
    const env = parseFunctionsEnv({
      CHURN_LAUNCHER: "kfp",
      CHURN_VERTEX_PARENT: PARENT,
      CHURN_VERTEX_PIPELINE_ROOT: "gs://b/vertex",
    });
    expect(vertexTargetOf(env)).toEqual({
      parent: PARENT,
      endpoint: "https://europe-west1-aiplatform.googleapis.com",
      pipelineRoot: "gs://b/vertex",
      serviceAccount: undefined,
    });
    const own = parseFunctionsEnv({ ...env, CHURN_VERTEX_ENDPOINT: "http://127.0.0.1:9/" });
    expect(vertexTargetOf(own)?.endpoint).toBe("http://127.0.0.1:9");
  });
});
