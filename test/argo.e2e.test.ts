/**
 * The weekly pipeline end to end on Argo Workflows: `churn pipeline compile weekly
 * --target argo` submitted to a real workflow-controller (built from the
 * argo-workflows Go module by test/services/install-argo.sh) on the project's test
 * control plane, whose node agent runs Argo's pods as the emissary executor lays
 * them out (init container copying argoexec, wait sidecar, main command under
 * `argoexec emissary`, volumes at their real paths). The Workflow must succeed and
 * publish the same scores.csv bytes as `churn pipeline run` on a copy of the bucket.
 */
import { existsSync, readdirSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runIdFor } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import {
  type ArgoController,
  argoexecImageRule,
  installArgoCrds,
  startArgoController,
} from "./support/argo.js";
import { churnBin, spawnChurn } from "./support/cli.js";
import { type KubeCluster, startCluster } from "./support/kube.js";
import { expectPublished } from "./support/published.js";
import { waitFor } from "./support/wait.js";

const NAMESPACE = "churn";
const SERVICE_ACCOUNT = "churn-runner";
const WEEKLY = "weekly/2026-W48.csv";
const OUT = "output/2026-W48";
const WORKFLOWS = { group: "argoproj.io", version: "v1alpha1", namespace: NAMESPACE, plural: "workflows" };

type WorkflowStatus = {
  phase?: string;
  message?: string;
  nodes?: Record<string, { displayName: string; type: string; phase: string; message?: string }>;
};

let dir: string;
let cluster: KubeCluster;
let controller: ArgoController | undefined;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  // Not under /tmp: the Workflow's containers mount an emptyDir there, which hides the host's /tmp.
  const root = join(process.env.CHURN_TEST_CACHE ?? join(homedir(), ".cache", "churn-test"), "tmp");
  await mkdir(root, { recursive: true });
  dir = await mkdtemp(join(root, "argo-e2e-"));
  cluster = await startCluster({ mountVolumes: true, images: [argoexecImageRule()] });
  await installArgoCrds(cluster, NAMESPACE);
  controller = await startArgoController(cluster, NAMESPACE, SERVICE_ACCOUNT);
}, 300_000);

afterAll(async () => {
  await controller?.stop();
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function tail(path: string, lines = 40): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text.split("\n").slice(-lines).join("\n");
}

/** The steps' pods and what each container last wrote, for a failure message. */
async function podReport(): Promise<string> {
  const pods = await cluster.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE });
  const parts: string[] = [];
  for (const pod of pods.items) {
    const name = pod.metadata!.name!;
    parts.push(`pod ${name}: ${pod.status?.phase}`);
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])])
      parts.push(`  [${c.name}] ${await tail(cluster.containerLogPath(NAMESPACE, name, c.name), 8)}`);
  }
  return parts.join("\n");
}

describe("the weekly pipeline on Argo Workflows (workflow-controller + emissary executor)", () => {
  it("runs the compiled weekly Workflow to Succeeded and publishes the local runner's scores.csv bytes", async () => {
    const local = join(dir, "local");
    const engine = join(dir, "engine");
    const init = await spawnChurn(["init", "--bucket", local, "--rows", "1500", "--weekly-rows", "400"]);
    expect(init.code, init.stderr).toBe(0);
    await cp(local, engine, { recursive: true });

    const file = join(dir, "weekly.argo.yaml");
    const compiled = await spawnChurn([
      "pipeline",
      "compile",
      "weekly",
      "--target",
      "argo",
      "--bucket",
      engine,
      "--image",
      "ghcr.io/churn-pipeline/churn:test",
      "--namespace",
      NAMESPACE,
      "--service-account",
      SERVICE_ACCOUNT,
      "--out",
      file,
    ]);
    expect(compiled.code, compiled.stderr).toBe(0);
    const workflow = parse(await readFile(file, "utf8"));

    const storage = await openStorage(engine);
    const weekly = (await storage.stat(WEEKLY))!;
    const runId = runIdFor("weekly", storage.uri, { name: weekly.name, generation: weekly.generation });
    const values: Record<string, string> = { bucket: storage.uri, run_id: runId, trigger: WEEKLY };
    for (const parameter of workflow.spec.arguments.parameters) parameter.value = values[parameter.name];

    const api = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const created = (await api.createNamespacedCustomObject({ ...WORKFLOWS, body: workflow })) as {
      metadata: { name: string };
    };
    const name = created.metadata.name;
    const started = Date.now();
    let status: WorkflowStatus = {};
    await waitFor(
      `Workflow ${name} to finish`,
      async () => {
        const current = (await api.getNamespacedCustomObject({ ...WORKFLOWS, name })) as {
          status?: WorkflowStatus;
        };
        status = current.status ?? {};
        return ["Succeeded", "Failed", "Error"].includes(status.phase ?? "") || null;
      },
      {
        timeoutMs: 900_000,
        intervalMs: 2000,
        abortIf: () => controller!.exited(),
        context: async () => `${await tail(controller!.logPath)}\n${await podReport()}`,
      },
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const nodes = Object.values(status.nodes ?? {});
    const failed = nodes.filter((n) => n.phase !== "Succeeded" && n.type === "Pod");
    expect(
      status.phase,
      `${status.message ?? ""}\n${failed.map((n) => `${n.displayName}: ${n.phase} ${n.message ?? ""}`).join("\n")}\n${await podReport()}`,
    ).toBe("Succeeded");
    process.stderr.write(`argo e2e: Workflow ${name} Succeeded in ${seconds} s (${nodes.length} nodes)\n`);
    // Every step ran as its own pod, and the score fan-out as one pod per shard.
    const pods = nodes.filter((n) => n.type === "Pod").map((n) => n.displayName.replace(/\(.*\)$/, ""));
    for (const step of ["join-labels", "train", "score-shards", "score", "merge-scores", "publish"])
      expect(pods, step).toContain(step);
    // Each pod as the emissary executor lays it out: init (copies argoexec), wait (reports outputs), main.
    const podsDir = join(cluster.dir, "node", "pods", NAMESPACE);
    const podNames = readdirSync(podsDir);
    expect(podNames.length).toBe(pods.length);
    for (const pod of podNames)
      expect(readdirSync(join(podsDir, pod, "logs")).sort(), pod).toEqual([
        "init.log",
        "main.log",
        "wait.log",
      ]);
    const planner = podNames.find((pod) => pod.includes("-score-shards-"))!;
    expect(await readFile(cluster.containerLogPath(NAMESPACE, planner, "wait"), "utf8")).toMatch(
      /Successfully saved output parameter: shard-count/,
    );

    await expectPublished(engine, OUT, runId);
    const run = await spawnChurn(["pipeline", "run", "weekly", "--bucket", local, "--weekly", WEEKLY]);
    expect(run.code, run.stderr).toBe(0);
    expect(await readFile(join(engine, OUT, "scores.csv"))).toEqual(
      await readFile(join(local, OUT, "scores.csv")),
    );
  }, 1_200_000);
});
