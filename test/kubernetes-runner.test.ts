import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { BatchV1Api, CoreV1Api, type V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../components/common/config/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { LocalProcessExecutor } from "../pipelines/runner/executor.js";
import { deleteRun, jobName, KubernetesJobExecutor, LABELS } from "../pipelines/runner/kubernetes.js";
import { createDriverJob } from "../pipelines/runner/kubernetes-driver.js";
import { runPipeline } from "../pipelines/runner/run.js";
import { stderrMessages } from "./support/cli.js";
import { type KubeCluster, startCluster } from "./support/kube.js";
import { expectPublished } from "./support/published.js";
import { waitFor } from "./support/wait.js";

// The Kubernetes runner against the real control plane (etcd, kube-apiserver,
// kube-controller-manager) and the test node agent, which runs each pod's
// `churn component ...` as a local process: so a file:// bucket in a temp
// folder is shared by the driver (this process) and the step pods.
const root = resolve(import.meta.dirname, "..");
const bin = join(root, "dist", "cli", "bin.js");
const IMAGE = "ghcr.io/churn-pipeline/churn:test";

let cluster: KubeCluster;
let core: CoreV1Api;
let batch: BatchV1Api;
let base: string;
let template: string;
let flakyScript: string;
let startError: unknown;
let namespaceCount = 0;

function churn(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr += c));
  return new Promise((done) => child.on("close", (code) => done({ code, stderr })));
}

/** A fresh namespace with its default ServiceAccount and the runner's churn-runner one. */
async function namespace(): Promise<string> {
  namespaceCount += 1;
  const name = `runner-${namespaceCount}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedServiceAccount({
    namespace: name,
    body: { metadata: { name: "churn-runner" } },
  });
  await waitFor(
    `default ServiceAccount in ${name}`,
    async () => {
      await core.readNamespacedServiceAccount({ name: "default", namespace: name });
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  return name;
}

async function bucket(name: string): Promise<string> {
  const dir = join(base, name);
  await cp(template, dir, { recursive: true });
  return dir;
}

function executor(
  ns: string,
  bucketUri: string,
  image = IMAGE,
  pendingGraceSeconds = 120,
  extra: Partial<ConstructorParameters<typeof KubernetesJobExecutor>[0]> = {},
) {
  return new KubernetesJobExecutor({
    ...extra,
    pendingGraceSeconds,
    kubeConfig: cluster.kubeConfig,
    namespace: ns,
    image,
    bucketUri,
    pipeline: "weekly",
    steps: weeklyPipeline.steps,
    serviceAccount: "churn-runner",
    env: { CHURN_LOG_LEVEL: "info" },
    pollMs: 1000,
  });
}

async function podsOfJob(ns: string, job: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` })).items;
}

beforeAll(async () => {
  try {
    expect(existsSync(bin), "dist/ missing: run npm run build").toBe(true);
    base = await mkdtemp(join(tmpdir(), "kube-runner-"));
    template = join(base, "template");
    const [started, init] = await Promise.all([
      startCluster({
        images: [
          {
            image: "flaky:*",
            entrypoint: [process.execPath, join(base, "flaky.mjs")],
            commands: {},
            env: {},
          },
          {
            image: "flaky-churn:*",
            entrypoint: [process.execPath, join(base, "flaky-churn.mjs")],
            commands: {},
            env: {},
          },
          // `component sleep` runs until killed; `component hog` grabs 300 MB; `component nap` exits 0 after 5 s.
          {
            image: "tool:*",
            entrypoint: [
              process.execPath,
              "-e",
              'if (process.argv[2] === "hog") { globalThis.b = Buffer.alloc(300 << 20, 1); } if (process.argv[2] === "nap") setTimeout(() => process.exit(0), 5000); setInterval(() => {}, 1000);',
              "--",
            ],
            commands: {},
            env: {},
          },
        ],
      }),
      churn(["init", "--bucket", template, "--rows", "2000", "--weekly-rows", "500"]),
    ]);
    cluster = started;
    expect(init.code, init.stderr).toBe(0);
    const config = await readFile(join(template, "churn.yaml"), "utf8");
    await writeFile(
      join(template, "churn.yaml"),
      config.replace("families: [logistic, gbdt, mlp]", "families: [logistic, gbdt]"),
    );
    // Fails once (exit 1), then succeeds: a transient error the Job's backoffLimit absorbs.
    flakyScript = join(base, "flaky.mjs");
    await writeFile(
      flakyScript,
      [
        'import { existsSync, writeFileSync } from "node:fs";',
        `const marker = ${JSON.stringify(join(base, "flaky.marker"))};`,
        'if (!existsSync(marker)) { writeFileSync(marker, "1"); console.error("churn: connection reset"); process.exit(1); }',
        'console.log("second try ok " + process.argv.slice(2).join(" "));',
      ].join("\n"),
    );
    // The churn CLI, except that score shard 1 fails once (exit 1) before it runs.
    await writeFile(
      join(base, "flaky-churn.mjs"),
      [
        'import { spawnSync } from "node:child_process";',
        'import { existsSync, writeFileSync } from "node:fs";',
        `const marker = ${JSON.stringify(join(base, "shard-1.marker"))};`,
        'if (process.env.JOB_COMPLETION_INDEX === "1" && !existsSync(marker)) {',
        '  writeFileSync(marker, "1"); console.error("churn: lost the connection to the bucket"); process.exit(1);',
        "}",
        `const result = spawnSync(process.execPath, [${JSON.stringify(bin)}, ...process.argv.slice(2)], { stdio: "inherit" });`,
        "process.exit(result.status ?? 1);",
      ].join("\n"),
    );
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
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

describe("Kubernetes runner on a real control plane", () => {
  it("runs the weekly pipeline as Jobs with 4 score shards, byte-identical to the local runner; deleting the run collects its Jobs", async () => {
    const ns = await namespace();
    const kubeDir = await bucket("kube");
    const localDir = await bucket("local");
    const storage = await openStorage(kubeDir);
    // Small record batches give the 4 shards 2 batches each (500 rows / 64).
    const pipeline = {
      ...weeklyPipeline,
      steps: weeklyPipeline.steps.map((s) =>
        s.name === "ingest-weekly" ? { ...s, parameters: { ...s.parameters, batch_rows: 64 } } : s,
      ),
    };
    const [kube, local] = await Promise.all([
      (async () => {
        const config = await loadConfig(storage);
        return runPipeline({
          storage,
          pipeline,
          executor: executor(ns, storage.uri, "flaky-churn:1", 120),
          config: { ...config, score: { ...config.score, shards: 4 } },
        });
      })(),
      (async () => {
        const localStorage = await openStorage(localDir);
        return runPipeline({
          storage: localStorage,
          pipeline: weeklyPipeline,
          executor: new LocalProcessExecutor(localStorage.uri),
          concurrency: 1,
        });
      })(),
    ]);
    expect(kube.exitCode, kube.record.reason ?? "").toBe(0);
    expect(local.exitCode, local.record.reason ?? "").toBe(0);
    expect(kube.record.runner).toBe("kubernetes");
    const out = "output/2026-W48";
    for (const file of ["scores.csv", "rejected.csv", "summary.json", "report.html", "_SUCCESS"])
      expect(existsSync(join(kubeDir, out, file)), file).toBe(true);
    await expectPublished(kubeDir, out, kube.record.run_id);
    const scores = await readFile(join(kubeDir, out, "scores.csv"));
    expect(scores.length).toBeGreaterThan(1000);
    expect(scores.equals(await readFile(join(localDir, out, "scores.csv")))).toBe(true);

    // Every step ran as its own Job, labelled with run, pipeline and step, owned by the run's ConfigMap.
    const runId = kube.record.run_id;
    const jobs = await batch.listNamespacedJob({ namespace: ns, labelSelector: `${LABELS.runId}=${runId}` });
    const steps = jobs.items.map((j) => j.metadata?.labels?.[LABELS.step]).sort();
    expect(steps).toEqual(weeklyPipeline.steps.map((s) => s.name).sort());
    for (const job of jobs.items) {
      expect(job.metadata?.name).toBe(jobName(runId, job.metadata?.labels?.[LABELS.step] ?? ""));
      expect(job.metadata?.labels?.[LABELS.pipeline]).toBe("weekly");
      expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "ConfigMap", name: runId });
      expect(job.status?.succeeded).toBe(job.spec?.completions ?? 1);
      expect(job.spec?.template.spec?.serviceAccountName).toBe("churn-runner");
    }
    const train = jobs.items.find((j) => j.metadata?.labels?.[LABELS.step] === "train");
    expect(train?.spec?.template.spec?.containers[0]?.resources?.limits?.memory).toBe("4Gi");
    expect(train?.spec?.template.spec?.containers[0]?.args).toEqual([
      "component",
      "train",
      "--run",
      runId,
      "--step",
      "train",
      "--bucket",
      storage.uri,
    ]);
    // score ran as one Indexed Job of 4 shards; shard 1 failed once and was retried alone.
    const scoreJob = jobs.items.find((j) => j.metadata?.labels?.[LABELS.step] === "score");
    expect(scoreJob?.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 4,
      backoffLimitPerIndex: 2,
    });
    const scorePods = await podsOfJob(ns, jobName(runId, "score"));
    const byIndex = (i: number) =>
      scorePods
        .filter((p) => p.metadata?.annotations?.["batch.kubernetes.io/job-completion-index"] === String(i))
        .map((p) => p.status?.phase)
        .sort();
    expect(byIndex(0)).toEqual(["Succeeded"]);
    expect(byIndex(1)).toEqual(["Failed", "Succeeded"]);
    expect(byIndex(2)).toEqual(["Succeeded"]);
    expect(byIndex(3)).toEqual(["Succeeded"]);
    // Every shard scored its own non-empty block of rows; shard 0 alone carries the header.
    const parts = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        readFile(join(kubeDir, "runs", runId, "steps", `score-shard-${i}`, "scores.csv"), "utf8"),
      ),
    );
    for (const part of parts.slice(1)) {
      expect(part.split("\n").length).toBeGreaterThan(50);
      expect(part.startsWith(parts[0]!.slice(0, parts[0]!.indexOf("\n")))).toBe(false);
    }
    expect(parts.join("")).toBe(scores.toString("utf8"));
    const merge = kube.record.steps.find((s) => s.name === "merge-scores");
    expect(merge?.counts.shards).toBe(4);
    expect(kube.record.steps.find((s) => s.name === "score")?.counts.scored).toBe(
      local.record.steps.find((s) => s.name === "score")?.counts.scored,
    );
    // The pods' logs (pods/log API) were copied into the run's step logs.
    const trainLog = await readFile(join(kubeDir, "runs", runId, "steps", "train", "log.txt"), "utf8");
    expect(trainLog).toMatch(/--- pod r-[0-9a-f]{16}-train-/);
    expect(trainLog.split("\n").length).toBeGreaterThan(3);

    // Deleting the owner object garbage-collects the run's Jobs and pods.
    expect(await deleteRun(cluster.kubeConfig, ns, runId)).toBe(true);
    await waitFor(
      "the run's Jobs to be collected",
      async () => {
        const left = await batch.listNamespacedJob({
          namespace: ns,
          labelSelector: `${LABELS.runId}=${runId}`,
        });
        return left.items.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitFor(
      "the run's pods to be collected",
      async () => {
        const left = await core.listNamespacedPod({
          namespace: ns,
          labelSelector: `${LABELS.runId}=${runId}`,
        });
        return left.items.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 240_000);

  it("fails a step that exits 2 at once through podFailurePolicy (one pod), and the run exits 2", async () => {
    const ns = await namespace();
    const dir = await bucket("bad");
    const path = join(dir, "weekly", "2026-W48.csv");
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    const corrupt = lines.map((line, i) =>
      i > 0 && i % 2 === 0 ? line.replace(/,(\d+),/, ",not-a-number,") : line,
    );
    await writeFile(path, `${corrupt.join("\n")}\n`);
    const storage = await openStorage(dir);
    const result = await runPipeline({
      storage,
      pipeline: weeklyPipeline,
      executor: executor(ns, storage.uri),
    });
    expect(result.exitCode).toBe(2);
    const failed = result.record.steps.find((s) => s.state === "failed");
    expect(failed?.name).toBe("ingest-weekly");
    expect(failed?.error).toMatch(/reject/i);
    expect(failed?.attempts).toBe(1);
    const name = jobName(result.record.run_id, "ingest-weekly");
    const job = await batch.readNamespacedJob({ name, namespace: ns });
    expect(job.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("PodFailurePolicy");
    const pods = await podsOfJob(ns, name);
    expect(pods).toHaveLength(1);
    expect(pods[0]?.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(2);
    expect(await readFile(join(dir, "output", "2026-W48", "_FAILED"), "utf8")).toMatch(
      /ingest-weekly.*reject/i,
    );
  }, 180_000);

  it("retries a step that exits 1 once inside the Job (backoffLimit) and reports success", async () => {
    const ns = await namespace();
    const exec = executor(ns, "file:///unused", "flaky:1");
    const log = new PassThrough();
    const chunks: Buffer[] = [];
    log.on("data", (c: Buffer) => chunks.push(c));
    const outcome = await exec.execute(
      { runId: "r-00000000000000aa", step: "score", component: "score", timeoutSeconds: 120, attempt: 0 },
      log,
      new AbortController().signal,
    );
    expect(outcome).toEqual({ exitCode: 0, error: null });
    const pods = await podsOfJob(ns, jobName("r-00000000000000aa", "score"));
    expect(pods.map((p) => p.status?.phase).sort()).toEqual(["Failed", "Succeeded"]);
    const text = Buffer.concat(chunks).toString("utf8");
    expect(text).toContain("churn: connection reset");
    expect(text).toContain("second try ok component score --run r-00000000000000aa --step score");
  }, 120_000);

  it("adopts a Job that already exists (409) and reports image pull failures in plain words", async () => {
    const ns = await namespace();
    const runId = "r-00000000000000bb";
    const first = executor(ns, "file:///unused", "no-such-image:1");
    const quick = executor(ns, "file:///unused", "no-such-image:1", 2);
    const invocation = { runId, step: "feature", component: "feature", timeoutSeconds: 60, attempt: 0 };
    const abort = new AbortController();
    // A first driver creates the Job and is cut off; the second one adopts the same Job.
    const log1 = new PassThrough();
    log1.resume();
    const firstRun = first.execute(invocation, log1, abort.signal);
    const name = jobName(runId, "feature");
    await waitFor(
      "the Job to exist",
      async () => !!(await batch.readNamespacedJob({ name, namespace: ns })),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const log2 = new PassThrough();
    let text = "";
    log2.on("data", (c) => (text += c));
    const outcome = await quick.execute(invocation, log2, new AbortController().signal);
    expect(text).toContain("already exists");
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error).toMatch(/image no-such-image:1 could not be pulled \(ErrImagePull/);
    abort.abort();
    expect((await firstRun).exitCode).toBe(1);
  }, 120_000);

  it("cancels a running step on abort (background deletion stops its pod), and reports deadlines and OOM kills in plain words", async () => {
    const ns = await namespace();
    const steps = [
      {
        name: "hog",
        component: "hog",
        description: "",
        inputs: {},
        retries: 0,
        resources: { cpu: "100m", memory: "128Mi" },
      },
      { name: "sleep", component: "sleep", description: "", inputs: {}, retries: 0 },
    ];
    const exec = new KubernetesJobExecutor({
      kubeConfig: cluster.kubeConfig,
      namespace: ns,
      image: "tool:1",
      bucketUri: "file:///unused",
      pipeline: "weekly",
      steps,
      pollMs: 1000,
    });
    const quiet = () => new PassThrough().resume();
    const step = (name: string, runId: string, timeoutSeconds = 120) => ({
      runId,
      step: name,
      component: name,
      timeoutSeconds,
      attempt: 0,
    });

    const abort = new AbortController();
    const running = exec.execute(step("sleep", "r-00000000000000dd"), quiet(), abort.signal);
    const name = jobName("r-00000000000000dd", "sleep");
    await waitFor(
      "the step's pod to run",
      async () => (await podsOfJob(ns, name)).some((p) => p.status?.phase === "Running"),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    abort.abort();
    expect(await running).toEqual({ exitCode: 1, error: `step Job ${name} was cancelled` });
    await waitFor(
      "the Job and its pod to be gone",
      async () => {
        const jobs = await batch.listNamespacedJob({ namespace: ns, labelSelector: `${LABELS.step}=sleep` });
        return jobs.items.length === 0 && (await podsOfJob(ns, name)).length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );

    const [late, oom] = await Promise.all([
      exec.execute(step("sleep", "r-00000000000000ee", 3), quiet(), new AbortController().signal),
      exec.execute(step("hog", "r-00000000000000ee"), quiet(), new AbortController().signal),
    ]);
    expect(late).toEqual({
      exitCode: 1,
      error: `step Job ${jobName("r-00000000000000ee", "sleep")} ran past its deadline of 3 s and was stopped`,
    });
    expect(oom).toEqual({ exitCode: 1, error: "ran out of memory and was killed (OOMKilled, limit 128Mi)" });
  }, 120_000);

  it("follows a Job through watches the apiserver keeps closing, resuming each from the last resourceVersion", async () => {
    const ns = await namespace();
    const exec = new KubernetesJobExecutor({
      kubeConfig: cluster.kubeConfig,
      namespace: ns,
      image: "tool:1",
      bucketUri: "file:///unused",
      pipeline: "weekly",
      steps: [{ name: "nap", component: "nap", description: "", inputs: {}, retries: 0 }],
      // The poll is longer than the test: only a reopened watch can report the end in time.
      pollMs: 120_000,
      watchTimeoutSeconds: 1,
    });
    const started = Date.now();
    const outcome = await exec.execute(
      { runId: "r-00000000000000ff", step: "nap", component: "nap", timeoutSeconds: 60, attempt: 0 },
      new PassThrough().resume(),
      new AbortController().signal,
    );
    expect(outcome).toEqual({ exitCode: 0, error: null });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(exec.watchesOpened).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it("fails with exit 2 and the apiserver's sentence when the namespace does not exist", async () => {
    const outcome = await executor("no-such-namespace", "file:///unused").execute(
      { runId: "r-0000000000000011", step: "feature", component: "feature", timeoutSeconds: 60, attempt: 0 },
      new PassThrough().resume(),
      new AbortController().signal,
    );
    expect(outcome).toEqual({
      exitCode: 2,
      error:
        'could not create the step\'s Job in namespace no-such-namespace: namespaces "no-such-namespace" not found',
    });
  });

  it("churn pipeline run --runner kubernetes uses KUBECONFIG and --namespace; runner flags are checked", async () => {
    const dir = await bucket("cli");
    const missing = await churn(
      ["pipeline", "run", "--bucket", dir, "--runner", "kubernetes", "--namespace", "nowhere"],
      { KUBECONFIG: cluster.kubeconfigPath },
    );
    expect(missing.code).toBe(2);
    expect(stderrMessages(missing.stderr)).toMatch(
      // The first step of the weekly pipeline is the first Job the runner creates.
      new RegExp(
        `${weeklyPipeline.steps[0]!.name} .*: could not create the step's Job in namespace nowhere: namespaces "nowhere" not found`,
      ),
    );
    const usage = await churn(["pipeline", "run", "--bucket", dir, "--in-cluster"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--in-cluster and --namespace apply to --runner kubernetes only");
  });

  it("creates one driver Job per run id; a duplicate create is a harmless 409", async () => {
    const ns = await namespace();
    const request = {
      runId: "r-00000000000000cc",
      bucket: "gs://acme-churn",
      weekly: "weekly/2026-W48.csv",
      config: { kubernetes: { namespace: ns, image: "paused:1", service_account: "churn-runner" } },
    };
    const first = await createDriverJob(cluster.kubeConfig, request);
    const second = await createDriverJob(cluster.kubeConfig, request);
    expect(first).toEqual({ name: "r-00000000000000cc-driver", namespace: ns, created: true });
    expect(second).toEqual({ ...first, created: false });
    const job = await batch.readNamespacedJob({ name: first.name, namespace: ns });
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual([
      "pipeline",
      "run",
      "weekly",
      "--bucket",
      "gs://acme-churn",
      "--weekly",
      "weekly/2026-W48.csv",
      "--runner",
      "kubernetes",
      "--in-cluster",
      "--namespace",
      ns,
    ]);
    await batch.deleteNamespacedJob({ name: first.name, namespace: ns, propagationPolicy: "Background" });
  });
});
