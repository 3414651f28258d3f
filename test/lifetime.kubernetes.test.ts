import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { openStorage } from "../components/common/storage/index.js";
import { lifetimePipeline } from "../pipelines/definitions/lifetime.js";
import { LocalProcessExecutor } from "../pipelines/runner/executor.js";
import { KubernetesJobExecutor, LABELS } from "../pipelines/runner/kubernetes.js";
import { runPipeline } from "../pipelines/runner/run.js";
import { datasetPath, describeDatasets, hasDatasets } from "./support/datasets.js";
import { type KubeCluster, startCluster } from "./support/kube.js";
import { expectPublished } from "./support/published.js";

// The lifetime pipeline as Kubernetes Jobs on the real control plane (the test
// node agent runs each pod's `churn component ...` as a local process), on the
// raw CDNOW 1/10 sample: whitespace separated, no header, five columns. Its
// customers must match the published per-customer summary exactly, and the
// Jobs' outputs must be byte-identical to the local runner's.
const root = resolve(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "bin.js");
const CDNOW = datasetPath("cdnow");
const FILES = ["cdnow/CDNOW_sample.txt", "cdnow/cdnow_customers_summary.csv"];
const present = hasDatasets(...FILES);

const CONFIG = `id_column: customer_id
transactions:
  observation_end: "1997-09-30"
  time_unit: week
  format: {delimiter: whitespace, header: false, columns: [master_id, customer_id, date, cds, amount]}
`;

let cluster: KubeCluster;
let base: string;

beforeAll(async () => {
  if (!present) return;
  expect(existsSync(bin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "lifetime-kube-"));
  cluster = await startCluster();
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

async function bucket(name: string): Promise<string> {
  const dir = join(base, name);
  await mkdir(join(dir, "transactions"), { recursive: true });
  await writeFile(join(dir, "churn.yaml"), CONFIG);
  await copyFile(join(CDNOW, "CDNOW_sample.txt"), join(dir, "transactions/sample.csv"));
  return dir;
}

describeDatasets("lifetime pipeline on Kubernetes", FILES, () => {
  it("runs every step as a Job, matches the local runner byte for byte and the published CDNOW summary", async () => {
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    const ns = `lifetime-${Date.now().toString(36)}`;
    await core.createNamespace({ body: { metadata: { name: ns } } });
    // Pods are only admitted once the namespace's default ServiceAccount exists.
    for (let i = 0; ; i++) {
      const ready = await core
        .readNamespacedServiceAccount({ name: "default", namespace: ns })
        .then(() => true)
        .catch(() => false);
      if (ready) break;
      if (i > 120) throw new Error(`no default ServiceAccount in ${ns} after 30 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const kubeDir = await bucket("kube");
    const localDir = await bucket("local");
    const storage = await openStorage(kubeDir);
    const localStorage = await openStorage(localDir);
    const [kube, local] = await Promise.all([
      runPipeline({
        storage,
        pipeline: lifetimePipeline,
        executor: new KubernetesJobExecutor({
          kubeConfig: cluster.kubeConfig,
          namespace: ns,
          image: "ghcr.io/churn-pipeline/churn:test",
          bucketUri: storage.uri,
          pipeline: "lifetime",
          steps: lifetimePipeline.steps,
          serviceAccount: null,
          env: { CHURN_LOG_LEVEL: "info" },
          pollMs: 1000,
        }),
      }),
      runPipeline({
        storage: localStorage,
        pipeline: lifetimePipeline,
        executor: new LocalProcessExecutor(localStorage.uri),
        concurrency: 1,
      }),
    ]);
    expect(kube.exitCode, kube.record.reason ?? "").toBe(0);
    expect(local.exitCode, local.record.reason ?? "").toBe(0);
    expect(kube.record.runner).toBe("kubernetes");
    const out = "output/lifetime/sample";
    for (const file of ["customers.csv", "alerts.csv", "rejected.csv"]) {
      const ours = await readFile(join(kubeDir, out, file));
      expect(ours.equals(await readFile(join(localDir, out, file))), file).toBe(true);
    }
    // summary.json differs by run id and publish time only; _SUCCESS is the manifest of the set.
    expect(existsSync(join(kubeDir, out, "summary.json"))).toBe(true);
    await expectPublished(kubeDir, out, kube.record.run_id);

    const jobs = await batch.listNamespacedJob({
      namespace: ns,
      labelSelector: `${LABELS.runId}=${kube.record.run_id}`,
    });
    expect(jobs.items.map((j) => j.metadata?.labels?.[LABELS.step]).sort()).toEqual(
      lifetimePipeline.steps.map((s) => s.name).sort(),
    );
    for (const job of jobs.items) expect(job.metadata?.labels?.[LABELS.pipeline]).toBe("lifetime");

    // frequency / recency / T of every customer equal the published summary (2 decimals there).
    const lines = readFileSync(join(kubeDir, out, "customers.csv"), "utf8")
      .trimEnd()
      .split("\n");
    expect(lines[0]!.split(",").slice(0, 4)).toEqual(["customer_id", "frequency", "recency", "T"]);
    const ours = new Map(
      lines.slice(1).map((l) => {
        const [id, f, r, T] = l.split(",");
        return [String(Number(id)), [Number(f), Number(r).toFixed(2), Number(T).toFixed(2)]];
      }),
    );
    const reference = readFileSync(join(CDNOW, "cdnow_customers_summary.csv"), "utf8")
      .trimEnd()
      .split(/\r?\n/)
      .slice(1);
    expect(ours.size).toBe(reference.length);
    for (const row of reference) {
      const [id, f, r, T] = row.split(",");
      expect(ours.get(id!), `customer ${id}`).toEqual([
        Number(f),
        Number(r).toFixed(2),
        Number(T).toFixed(2),
      ]);
    }
  }, 240_000);
});
