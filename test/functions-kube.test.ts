import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchV1Api, CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { triggerMarkerObject } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { KubernetesLauncher } from "../functions/kubernetes-launcher.js";

import { WEEKLY_FUNCTION } from "../functions/register.js";
import { LABELS } from "../pipelines/runner/kubernetes.js";
import { postBinary, postStructured, startFunctionsFramework } from "./support/functions.js";
import { type KubeCluster, startCluster } from "./support/kube.js";

/**
 * The deployed entry (dist/functions/main.js) with CHURN_LAUNCHER=kubernetes in
 * a real functions-framework process, against the Kubernetes test control
 * plane: repeated deliveries of one upload create exactly one driver Job.
 * The bucket's image matches no node-agent rule, so the driver pod never runs
 * the pipeline: this test is about the trigger, not the run.
 */

const root = join(import.meta.dirname, "..");
const cli = join(root, "dist", "cli", "bin.js");
let cluster: KubeCluster;
let dir: string;

beforeAll(async () => {
  expect(existsSync(join(root, "dist", "functions", "main.js")), "dist/ missing: run npm run build").toBe(
    true,
  );
  cluster = await startCluster();
  await cluster.kubeConfig
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: "churn" } } });
  dir = await mkdtemp(join(tmpdir(), "churn-fn-kube-"));
});

afterAll(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("onWeeklyUpload with the Kubernetes launcher", () => {
  it("four deliveries of one upload create exactly one driver Job", async () => {
    const bucketDir = join(dir, "bucket");
    const init = spawnSync(
      process.execPath,
      [cli, "init", "--bucket", bucketDir, "--rows", "200", "--weekly-rows", "50"],
      { encoding: "utf8" },
    );
    expect(init.status, init.stderr).toBe(0);
    const yamlPath = join(bucketDir, "churn.yaml");
    const yaml = (await readFile(yamlPath, "utf8")).replace(
      /image: .*/,
      "image: registry.invalid/churn:never",
    );
    await writeFile(yamlPath, yaml);
    const storage = await openStorage(bucketDir);
    const weekly = (await storage.list("weekly/"))[0]!;

    const ff = await startFunctionsFramework(WEEKLY_FUNCTION, {
      ...process.env,
      CHURN_LAUNCHER: "kubernetes",
      CHURN_BUCKET_URI: `file://${bucketDir}`,
      KUBECONFIG: cluster.kubeconfigPath,
    });
    const { url } = ff;
    try {
      const event = { bucket: "local", name: weekly.name, generation: weekly.generation };
      // First delivery alone, then three concurrent redeliveries in both modes.
      expect((await postBinary(url, event)).status, ff.output()).toBeLessThan(300);
      const again = await Promise.all([
        postStructured(url, event),
        postBinary(url, event),
        postBinary(url, event),
      ]);
      for (const r of again) expect(r.status, ff.output()).toBeLessThan(300);

      const marker = JSON.parse(await storage.readText((await storage.list("runs/"))[0]!.name));
      const runId: string = marker.run_id;
      expect(await storage.stat(triggerMarkerObject(runId))).not.toBeNull();
      const jobs = await cluster.kubeConfig
        .makeApiClient(BatchV1Api)
        .listNamespacedJob({ namespace: "churn", labelSelector: `${LABELS.runId}=${runId}` });
      expect(jobs.items.map((j) => j.metadata?.name)).toEqual([`${runId}-driver`]);
      const job = jobs.items[0]!;
      expect(job.spec?.template.spec?.containers[0]?.args).toEqual(
        expect.arrayContaining(["--bucket", `file://${bucketDir}`, "--weekly", weekly.name]),
      );
      expect(job.spec?.template.spec?.serviceAccountName).toBe("churn-runner");
      const lines = ff.output().split("\n");
      expect(
        lines.filter((l) => l.includes('"started weekly run')),
        ff.output(),
      ).toHaveLength(1);
      expect(
        lines.filter((l) => l.includes("was already triggered")),
        ff.output(),
      ).toHaveLength(3);
      expect(
        lines.find((l) => l.includes('"started weekly run')),
        ff.output(),
      ).toContain(`churn/${runId}-driver`);
    } finally {
      ff.child.kill();
    }
  });

  it("a second launch of one run (marker given back after a lost answer) finds the Job and succeeds", async () => {
    const launcher = new KubernetesLauncher(cluster.kubeConfig, async () => ({
      kubernetes: {
        namespace: "churn",
        image: "registry.invalid/churn:never",
        service_account: "churn-runner",
      },
    }));
    const request = {
      runId: "r-00000000000000aa",
      pipeline: "weekly" as const,
      bucketUri: "gs://b",
      object: "weekly/x.csv",
      generation: "1",
    };
    expect(await launcher.launch(request)).toEqual({
      kind: "kubernetes-job",
      handle: "churn/r-00000000000000aa-driver",
    });
    expect((await launcher.launch(request)).kind).toBe("kubernetes-job (already there)");
  });
});
