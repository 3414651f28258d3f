import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { pathToFileURL } from "node:url";
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  Log,
  RbacAuthorizationV1Api,
  type V1Job,
  type V1Pod,
  VersionApi,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { KUBE_VERSION, type KubeCluster, startCluster } from "./support/kube.js";
import { waitFor } from "./support/wait.js";

// The real control plane (etcd, kube-apiserver, kube-controller-manager) with the test
// node agent running pods as local processes. Missing binaries fail the suite with the
// install command: this is never skipped.
let cluster: KubeCluster;
let core: CoreV1Api;
let batch: BatchV1Api;
let namespaceCount = 0;

let startError: unknown;

beforeAll(async () => {
  try {
    cluster = await startCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
  } catch (error) {
    startError = error;
  }
});

// A failed start fails every test with its message (vitest would report a failed
// beforeAll as skipped tests).
beforeEach(() => {
  if (startError) throw startError;
});

afterAll(async () => {
  await cluster?.stop();
});

async function namespace(): Promise<string> {
  namespaceCount += 1;
  const name = `smoke-${namespaceCount}-${Date.now().toString(36)}`;
  await core.createNamespace({ body: { metadata: { name } } });
  // Pods are rejected until the ServiceAccount controller has made "default".
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

function nodeJob(name: string, script: string, spec: Partial<NonNullable<V1Job["spec"]>> = {}): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      ...spec,
      template: {
        spec: {
          restartPolicy: "Never",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: "node:20-slim", command: ["node", "-e", script] }],
        },
      },
    },
  };
}

/** Waits for the Job's Complete or Failed condition and returns the Job. */
async function finished(
  ns: string,
  name: string,
  timeoutMs = 120_000,
): Promise<{ job: V1Job; outcome: string }> {
  return waitFor(
    `Job ${ns}/${name} to finish`,
    async () => {
      const job = await batch.readNamespacedJob({ name, namespace: ns });
      const done = job.status?.conditions?.find(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      );
      return done ? { job, outcome: done.type } : undefined;
    },
    { timeoutMs: timeoutMs, intervalMs: 250 },
  );
}

async function podsOf(ns: string, job: string): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` });
  return list.items;
}

/** A pod's log through the apiserver's pods/log API (proxied to the node agent). */
async function podLog(ns: string, pod: string): Promise<string> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve) => stream.on("end", () => resolve()));
  await new Log(cluster.kubeConfig).log(ns, pod, "main", stream, { follow: true });
  await ended;
  return Buffer.concat(chunks).toString("utf8");
}

function exitCodeOf(pod: V1Pod): number | undefined {
  return pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
}

describe("Kubernetes control plane with the test node agent", () => {
  it("reports the pinned version and a Ready node", async () => {
    const node = await core.readNode({ name: cluster.nodeName });
    expect(node.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    const lease = await cluster.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: cluster.nodeName, namespace: "kube-node-lease" });
    expect(lease.spec?.holderIdentity).toBe(cluster.nodeName);
    const version = await cluster.kubeConfig.makeApiClient(VersionApi).getCode();
    expect(version.gitVersion).toBe(KUBE_VERSION);
  });

  it("runs an Indexed Job: each completion index runs once, with JOB_COMPLETION_INDEX", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob("indexed", "console.log('index=' + process.env.JOB_COMPLETION_INDEX)", {
        completionMode: "Indexed",
        completions: 3,
        parallelism: 3,
      }),
    });
    const { job, outcome } = await finished(ns, "indexed");
    expect(outcome).toBe("Complete");
    expect(job.status?.succeeded).toBe(3);
    expect(job.status?.completedIndexes).toBe("0-2");
    const pods = await podsOf(ns, "indexed");
    expect(pods).toHaveLength(3);
    const seen: string[] = [];
    for (const pod of pods) {
      const index = pod.metadata?.annotations?.["batch.kubernetes.io/job-completion-index"];
      expect(pod.status?.phase).toBe("Succeeded");
      expect(exitCodeOf(pod)).toBe(0);
      const text = await podLog(ns, pod.metadata?.name ?? "");
      expect(text).toBe(`index=${index}\n`);
      seen.push(String(index));
    }
    expect(seen.sort()).toEqual(["0", "1", "2"]);
  });

  it("resolves fieldRef, plain, configMapKeyRef and secretKeyRef env, and $(VAR) in args", async () => {
    const ns = await namespace();
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "cfg" }, data: { bucket: "gs://b" } },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: "sec" }, stringData: { token: "s3cret" } },
    });
    const body = nodeJob("env", "");
    const container = body.spec?.template.spec?.containers[0];
    if (!container) throw new Error("no container");
    container.command = ["node", "-e", "console.log(process.argv.slice(1).join('|'))"];
    container.args = ["$(POD_NAME)", "$(POD_NAMESPACE)", "$(PLAIN)", "$(BUCKET)", "$(TOKEN)", "$$(PLAIN)"];
    container.env = [
      { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      { name: "POD_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
      { name: "PLAIN", value: "plain-$(POD_NAMESPACE)" },
      { name: "BUCKET", valueFrom: { configMapKeyRef: { name: "cfg", key: "bucket" } } },
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: "sec", key: "token" } } },
    ];
    await batch.createNamespacedJob({ namespace: ns, body });
    const { outcome } = await finished(ns, "env");
    expect(outcome).toBe("Complete");
    const [pod] = await podsOf(ns, "env");
    const name = pod.metadata?.name ?? "";
    expect(await podLog(ns, name)).toBe(`${name}|${ns}|plain-${ns}|gs://b|s3cret|$(PLAIN)\n`);
  });

  it("fails a Job at once when podFailurePolicy says FailJob on exit code 2", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob("exit2", "process.exit(2)", {
        backoffLimit: 6,
        podFailurePolicy: {
          rules: [{ action: "FailJob", onExitCodes: { operator: "In", values: [2, 3] } }],
        },
      }),
    });
    const { job, outcome } = await finished(ns, "exit2");
    expect(outcome).toBe("Failed");
    expect(job.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("PodFailurePolicy");
    const pods = await podsOf(ns, "exit2");
    expect(pods).toHaveLength(1);
    expect(exitCodeOf(pods[0])).toBe(2);
  });

  it("retries a Job whose pod exits 1 up to backoffLimit (3 pods for backoffLimit 2)", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob("exit1", "console.error('boom'); process.exit(1)", { backoffLimit: 2 }),
    });
    // The Job controller waits 10 s, then 20 s, between retries.
    const { job, outcome } = await finished(ns, "exit1", 170_000);
    expect(outcome).toBe("Failed");
    expect(job.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("BackoffLimitExceeded");
    expect(job.status?.failed).toBe(3);
    const pods = await podsOf(ns, "exit1");
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe("Failed");
      expect(exitCodeOf(pod)).toBe(1);
      expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.reason).toBe("Error");
      expect(await podLog(ns, pod.metadata?.name ?? "")).toBe("boom\n");
    }
  }, 180_000);

  it("deletes a finished Job after ttlSecondsAfterFinished", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob("ttl", "console.log('done')", { ttlSecondsAfterFinished: 2 }),
    });
    const { outcome } = await finished(ns, "ttl");
    expect(outcome).toBe("Complete");
    await waitFor(
      "the ttl controller to delete the Job",
      async () => {
        try {
          await batch.readNamespacedJob({ name: "ttl", namespace: ns });
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 404;
        }
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitFor("the Job's pod to be collected", async () => (await podsOf(ns, "ttl")).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  });

  it("garbage-collects Jobs, pods and their processes when the owner object is deleted", async () => {
    const ns = await namespace();
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: "run-owner" } },
    });
    const body = nodeJob("owned", "console.log(process.pid); setInterval(() => {}, 1000)");
    body.metadata = {
      name: "owned",
      ownerReferences: [
        { apiVersion: "v1", kind: "ConfigMap", name: "run-owner", uid: owner.metadata?.uid ?? "" },
      ],
    };
    await batch.createNamespacedJob({ namespace: ns, body });
    const pod = await waitFor(
      "the owned pod to run",
      async () => {
        const [p] = await podsOf(ns, "owned");
        return p?.status?.phase === "Running" ? p : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const podName = pod.metadata?.name ?? "";
    const pid = await waitFor(
      "the pod to print its pid",
      async () => {
        const text = await readFile(cluster.containerLogPath(ns, podName, "main"), "utf8");
        return Number.parseInt(text, 10) || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(() => process.kill(pid, 0)).not.toThrow();
    await core.deleteNamespacedConfigMap({
      name: "run-owner",
      namespace: ns,
      propagationPolicy: "Background",
    });
    await waitFor(
      "the Job to be collected",
      async () => {
        try {
          await batch.readNamespacedJob({ name: "owned", namespace: ns });
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 404;
        }
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    await waitFor("the pod to be collected", async () => (await podsOf(ns, "owned")).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    await waitFor(
      "the pod's process to be killed",
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
  });

  it("maps the churn image to the built CLI (no command: the image's entrypoint gets the args)", async () => {
    const ns = await namespace();
    const body = nodeJob("cli", "");
    const container = body.spec?.template.spec?.containers[0];
    if (!container) throw new Error("no container");
    container.image = "europe-docker.pkg.dev/project/churn/churn:1.0.0";
    container.command = undefined;
    container.args = ["--help"];
    await batch.createNamespacedJob({ namespace: ns, body });
    const { outcome } = await finished(ns, "cli");
    expect(outcome).toBe("Complete");
    const [pod] = await podsOf(ns, "cli");
    expect(await podLog(ns, pod.metadata?.name ?? "")).toMatch(/^Usage: churn/);
  });

  it("runs a command that is the churn image's ENTRYPOINT (as compiled pipelines set it) as the built CLI", async () => {
    const { IMAGE_ENTRYPOINT } = await import("../pipelines/runner/executor.js");
    const ns = await namespace();
    const body = nodeJob("entrypoint", "");
    const container = body.spec!.template.spec!.containers[0]!;
    container.image = "ghcr.io/churn-pipeline/churn:test";
    container.command = [...IMAGE_ENTRYPOINT];
    container.args = ["--help"];
    await batch.createNamespacedJob({ namespace: ns, body });
    expect((await finished(ns, "entrypoint")).outcome).toBe("Complete");
    const [pod] = await podsOf(ns, "entrypoint");
    expect(await podLog(ns, pod.metadata?.name ?? "")).toMatch(/^Usage: churn/);
  });

  it("runs init containers in order before the containers; a failing one fails the pod", async () => {
    const ns = await namespace();
    const markerDir = await mkdtemp(join(tmpdir(), "churn-kube-smoke-"));
    onTestFinished(() => rm(markerDir, { recursive: true, force: true }));
    const file = JSON.stringify(join(markerDir, "order"));
    const append = (text: string) => `require('node:fs').appendFileSync(${file}, '${text}\\n')`;
    const init = (name: string, script: string) => ({
      name,
      image: "node:20-slim",
      command: ["node", "-e", script],
    });
    const ordered = nodeJob("inits", append("main"));
    ordered.spec!.template.spec!.initContainers = [
      init("first", append("first")),
      init("second", append("second")),
    ];
    await batch.createNamespacedJob({ namespace: ns, body: ordered });
    expect((await finished(ns, "inits")).outcome).toBe("Complete");
    expect(await readFile(join(markerDir, "order"), "utf8")).toBe("first\nsecond\nmain\n");
    const [pod] = await podsOf(ns, "inits");
    expect(pod.status?.initContainerStatuses?.map((c) => c.state?.terminated?.exitCode)).toEqual([0, 0]);
    expect(pod.status?.conditions?.find((c) => c.type === "Initialized")?.status).toBe("True");

    const failing = nodeJob("badinit", append("never"));
    failing.spec!.template.spec!.initContainers = [init("broken", "process.exit(4)")];
    await batch.createNamespacedJob({ namespace: ns, body: failing });
    expect((await finished(ns, "badinit")).outcome).toBe("Failed");
    const [failed] = await podsOf(ns, "badinit");
    expect(failed.status?.phase).toBe("Failed");
    expect(failed.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(4);
    expect(failed.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("PodInitializing");
    expect(await readFile(join(markerDir, "order"), "utf8")).not.toMatch(/never/);
  });

  it("reports an unknown image without a command as ErrImagePull, pod Pending", async () => {
    const ns = await namespace();
    const body = nodeJob("noimage", "");
    const container = body.spec?.template.spec?.containers[0];
    if (!container) throw new Error("no container");
    container.image = "registry.example/does-not-exist:1";
    container.command = undefined;
    await batch.createNamespacedJob({ namespace: ns, body });
    const pod = await waitFor(
      "the pod to report its image error",
      async () => {
        const [p] = await podsOf(ns, "noimage");
        return p?.status?.containerStatuses?.[0]?.state?.waiting ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(pod.status?.phase).toBe("Pending");
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("ErrImagePull");
    const podName = pod.metadata?.name ?? "";
    const events = await waitFor(
      "the pod's events",
      async () => {
        const list = await core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: `involvedObject.name=${podName}`,
        });
        return list.items.some((e) => e.reason === "Failed") ? list.items : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    expect(events.map((e) => e.reason)).toContain("Scheduled");
    const failed = events.find((e) => e.reason === "Failed");
    expect(failed?.type).toBe("Warning");
    expect(failed?.message).toContain('Failed to pull image "registry.example/does-not-exist:1"');
  });

  it("streams a running container's log through pods/log until the container exits", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob(
        "stream",
        "let i = 0; const t = setInterval(() => { console.log('line ' + i); if (++i === 5) clearInterval(t); }, 300)",
      ),
    });
    const pod = await waitFor(
      "the pod to run",
      async () => {
        const [p] = await podsOf(ns, "stream");
        return p?.status?.phase === "Running" ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    // Follow starts while the process is still printing and ends by itself when it exits.
    const text = await podLog(ns, pod.metadata?.name ?? "");
    expect(text).toBe("line 0\nline 1\nline 2\nline 3\nline 4\n");
    const { outcome } = await finished(ns, "stream");
    expect(outcome).toBe("Complete");
  });

  it("kills a container over its memory limit as OOMKilled with exit code 137", async () => {
    const ns = await namespace();
    const body = nodeJob("oom", "const b = Buffer.alloc(400 * 2 ** 20, 1); setInterval(() => b[0]++, 50)");
    const container = body.spec?.template.spec?.containers[0];
    if (!container) throw new Error("no container");
    container.resources = { limits: { memory: "200Mi" } };
    await batch.createNamespacedJob({ namespace: ns, body });
    const { outcome } = await finished(ns, "oom");
    expect(outcome).toBe("Failed");
    const [pod] = await podsOf(ns, "oom");
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.reason).toBe("OOMKilled");
    expect(terminated?.exitCode).toBe(137);
  });

  it("gives pods their ServiceAccount's token, so in-cluster clients are bound by RBAC", async () => {
    const ns = await namespace();
    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "runner" } } });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "read-pods" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "runner-read-pods" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "read-pods" },
        subjects: [{ kind: "ServiceAccount", name: "runner", namespace: ns }],
      },
    });
    // The pod runs in its own folder, so it imports the client by absolute URL.
    const clientNode = pathToFileURL(createRequire(import.meta.url).resolve("@kubernetes/client-node")).href;
    const script = [
      "(async () => {",
      `  const k8s = await import(${JSON.stringify(clientNode)});`,
      "  const kc = new k8s.KubeConfig(); kc.loadFromCluster(process.env.CHURN_TEST_POD_ROOT);",
      "  const core = kc.makeApiClient(k8s.CoreV1Api);",
      "  const pods = await core.listNamespacedPod({ namespace: process.env.NS });",
      "  let secrets = 'allowed';",
      "  try { await core.listNamespacedSecret({ namespace: process.env.NS }); } catch (e) { secrets = String(e.code); }",
      "  console.log('pods=' + pods.items.length + ' secrets=' + secrets);",
      "})().catch((e) => { console.error(e); process.exit(1); });",
    ].join("\n");
    const body = nodeJob("incluster", script);
    const spec = body.spec?.template.spec;
    if (!spec) throw new Error("no pod spec");
    spec.serviceAccountName = "runner";
    spec.containers[0].env = [{ name: "NS", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } }];
    await batch.createNamespacedJob({ namespace: ns, body });
    const { outcome } = await finished(ns, "incluster");
    const [pod] = await podsOf(ns, "incluster");
    const text = await podLog(ns, pod.metadata?.name ?? "");
    expect(outcome, text).toBe("Complete");
    expect(text).toBe("pods=1 secrets=403\n");
  });

  it("retries only the failed index of an Indexed Job with backoffLimitPerIndex", async () => {
    const ns = await namespace();
    const markerDir = await mkdtemp(join(tmpdir(), "churn-kube-smoke-"));
    onTestFinished(() => rm(markerDir, { recursive: true, force: true }));
    const marker = join(markerDir, "index-1-failed-once");
    // Index 1 fails on its first run only; the others succeed at once.
    const script = [
      "const fs = require('node:fs');",
      "const index = process.env.JOB_COMPLETION_INDEX;",
      `if (index === '1' && !fs.existsSync(${JSON.stringify(marker)})) {`,
      `  fs.writeFileSync(${JSON.stringify(marker)}, 'x'); process.exit(1);`,
      "}",
      "console.log('shard ' + index);",
    ].join("\n");
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob("shards", script, {
        completionMode: "Indexed",
        completions: 3,
        parallelism: 3,
        backoffLimit: undefined,
        backoffLimitPerIndex: 1,
      }),
    });
    const { job, outcome } = await finished(ns, "shards");
    expect(outcome).toBe("Complete");
    expect(job.status?.completedIndexes).toBe("0-2");
    const pods = await podsOf(ns, "shards");
    const runsPerIndex = new Map<string, number>();
    for (const pod of pods) {
      const index = pod.metadata?.annotations?.["batch.kubernetes.io/job-completion-index"] ?? "?";
      runsPerIndex.set(index, (runsPerIndex.get(index) ?? 0) + 1);
    }
    expect(Object.fromEntries(runsPerIndex)).toEqual({ "0": 1, "1": 2, "2": 1 });
  });

  it("restarts a container in place under restartPolicy OnFailure", async () => {
    const ns = await namespace();
    const markerDir = await mkdtemp(join(tmpdir(), "churn-kube-smoke-"));
    onTestFinished(() => rm(markerDir, { recursive: true, force: true }));
    const marker = JSON.stringify(join(markerDir, "failed-once"));
    const script = `const fs = require('node:fs'); if (!fs.existsSync(${marker})) { fs.writeFileSync(${marker}, 'x'); process.exit(1); }`;
    const body = nodeJob("onfailure", script, { backoffLimit: 3 });
    const spec = body.spec?.template.spec;
    if (!spec) throw new Error("no pod spec");
    spec.restartPolicy = "OnFailure";
    await batch.createNamespacedJob({ namespace: ns, body });
    const { outcome } = await finished(ns, "onfailure");
    expect(outcome).toBe("Complete");
    const pods = await podsOf(ns, "onfailure");
    expect(pods).toHaveLength(1);
    expect(pods[0].status?.containerStatuses?.[0]?.restartCount).toBe(1);
  });

  it("fails a Job past activeDeadlineSeconds and kills its running process", async () => {
    const ns = await namespace();
    await batch.createNamespacedJob({
      namespace: ns,
      body: nodeJob("deadline", "console.log(process.pid); setInterval(() => {}, 1000)", {
        activeDeadlineSeconds: 3,
        backoffLimit: 2,
      }),
    });
    const pod = await waitFor(
      "the pod to run",
      async () => {
        const [p] = await podsOf(ns, "deadline");
        return p?.status?.phase === "Running" ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const logPath = cluster.containerLogPath(ns, pod.metadata?.name ?? "", "main");
    const pid = await waitFor(
      "the pod to print its pid",
      async () => {
        return Number.parseInt(await readFile(logPath, "utf8"), 10) || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const { job, outcome } = await finished(ns, "deadline");
    expect(outcome).toBe("Failed");
    expect(job.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("DeadlineExceeded");
    await waitFor(
      "the process to be killed",
      async () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});
