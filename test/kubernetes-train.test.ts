import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readChampion } from "../components/common/bundle/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { retrainPipeline } from "../pipelines/definitions/weekly.js";
import { LABELS } from "../pipelines/runner/kubernetes.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { churnBin, spawnChurn } from "./support/cli.js";
import { type KubeCluster, startCluster } from "./support/kube.js";

// `churn train --runner kubernetes` against the real control plane (etcd,
// kube-apiserver, kube-controller-manager) and the test node agent, the
// harness of kubernetes-runner.test.ts: the CLI builds the same executor as
// `churn pipeline run --runner kubernetes`, so each retrain step is a Job
// whose pod runs `churn component ...` on the shared folder bucket.

let cluster: KubeCluster;
let base: string;
let dir: string;
let startError: unknown;

beforeAll(async () => {
  try {
    expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
    base = await mkdtemp(join(tmpdir(), "kube-train-"));
    dir = join(base, "bucket");
    const [started, init] = await Promise.all([
      startCluster(),
      spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "500"]),
    ]);
    cluster = started;
    expect(init.code, init.stderr).toBe(0);
    // Two model families keep the suite quick; the MLP is covered by the models tests.
    const config = await readFile(join(dir, "churn.yaml"), "utf8");
    await writeFile(
      join(dir, "churn.yaml"),
      config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
    );
  } catch (error) {
    startError = error;
  }
}, 180_000);

// A failed start fails every test with its message instead of skipping them.
beforeEach(() => {
  if (startError) throw startError;
});

afterAll(async () => {
  await cluster?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

describe("churn train --runner kubernetes", () => {
  it("runs the retrain pipeline as one Job per step and promotes a champion", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    const ns = `train-${Date.now().toString(36)}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await core.createNamespacedServiceAccount({
      namespace: ns,
      body: { metadata: { name: "churn-runner" } },
    });

    const result = await spawnChurn(
      ["train", "--bucket", dir, "--runner", "kubernetes", "--namespace", ns, "--json"],
      { KUBECONFIG: cluster.kubeconfigPath, CHURN_LOG_LEVEL: "info" },
    );
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      run_id: string;
      promotion: { action: string; champion: string };
    };
    expect(out.promotion.action).toBe("promote");
    expect((await readChampion(await openStorage(dir)))!.pointer.version).toBe(out.promotion.champion);
    const record = JSON.parse(await readFile(join(dir, "runs", out.run_id, "run.json"), "utf8")) as RunRecord;
    expect(record).toMatchObject({ pipeline: "retrain", runner: "kubernetes", state: "succeeded" });

    const jobs = await batch.listNamespacedJob({
      namespace: ns,
      labelSelector: `${LABELS.runId}=${out.run_id}`,
    });
    expect(jobs.items.map((j) => j.metadata?.labels?.[LABELS.step]).sort()).toEqual(
      retrainPipeline.steps.map((s) => s.name).sort(),
    );
    for (const job of jobs.items) {
      expect(job.metadata?.labels?.[LABELS.pipeline]).toBe("retrain");
      expect(job.spec?.template.spec?.serviceAccountName).toBe("churn-runner");
      expect(job.status?.succeeded).toBe(1);
    }
  }, 300_000);
});
