import { KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import type { OutputDoc } from "../../components/common/component/spec.js";
import type { Storage } from "../../components/common/storage/index.js";
import { weeklyPipeline } from "../definitions/weekly.js";
import { jobName, KubernetesJobExecutor, LABELS, podProblem } from "./kubernetes.js";
import { driverJob } from "./kubernetes-driver.js";
import { type ObjectHasher, resolveInputs } from "./resolve.js";

/** A config that is never contacted: jobFor only builds objects. */
function offlineConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:1" }],
    users: [{ name: "u" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

function executor(env: NodeJS.ProcessEnv = {}) {
  return new KubernetesJobExecutor({
    kubeConfig: offlineConfig(),
    namespace: "churn",
    image: "ghcr.io/churn-pipeline/churn:1.0",
    bucketUri: "gs://acme-churn",
    pipeline: "weekly",
    steps: weeklyPipeline.steps,
    serviceAccount: "churn-runner",
    env,
    envSecret: "churn-env",
  });
}

const owner = { apiVersion: "v1", kind: "ConfigMap", name: "r-0123456789abcdef", uid: "u-1" };
const invocation = {
  runId: "r-0123456789abcdef",
  step: "train",
  component: "train",
  timeoutSeconds: 900,
  attempt: 0,
};

describe("jobName", () => {
  it.each([
    [["r-0123456789abcdef", "ingest-weekly"], "r-0123456789abcdef-ingest-weekly"],
    [["r-0123456789abcdef-a2", "merge-scores"], "r-0123456789abcdef-a2-merge-scores"],
    [["R_Run", "Step.Name"], "r-run-step-name"],
  ])("%j -> %s", (parts, expected) => {
    expect(jobName(...parts)).toBe(expected);
  });

  it("keeps long names within 63 characters, unique by a hash suffix", () => {
    const a = jobName("r-0123456789abcdef-a12", "x".repeat(60));
    const b = jobName("r-0123456789abcdef-a12", `${"x".repeat(59)}y`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
  });
});

describe("KubernetesJobExecutor.jobFor", () => {
  it("builds a labelled, owned Job with the step's resources, retries and failure policy", () => {
    const job = executor({ STORAGE_EMULATOR_HOST: "http://gcs:4443", SECRET_TOKEN: "nope" }).jobFor(
      invocation,
      owner,
    );
    expect(job.metadata?.name).toBe("r-0123456789abcdef-train");
    expect(job.metadata?.labels).toMatchObject({
      [LABELS.runId]: "r-0123456789abcdef",
      [LABELS.pipeline]: "weekly",
      [LABELS.step]: "train",
    });
    expect(job.metadata?.ownerReferences).toEqual([owner]);
    const spec = job.spec!;
    expect(spec.backoffLimit).toBe(2);
    expect(spec.activeDeadlineSeconds).toBe(900);
    expect(spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
    expect(spec.podFailurePolicy?.rules).toEqual([
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      { action: "Ignore", onExitCodes: { containerName: "churn", operator: "In", values: [130] } },
      { action: "FailJob", onExitCodes: { containerName: "churn", operator: "In", values: [2, 3] } },
    ]);
    const pod = spec.template.spec!;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.serviceAccountName).toBe("churn-runner");
    const container = pod.containers[0]!;
    expect(container.image).toBe("ghcr.io/churn-pipeline/churn:1.0");
    expect(container.command).toBeUndefined();
    expect(container.args).toEqual([
      "component",
      "train",
      "--run",
      "r-0123456789abcdef",
      "--step",
      "train",
      "--bucket",
      "gs://acme-churn",
    ]);
    expect(container.resources).toEqual({
      requests: { cpu: "2", memory: "4Gi" },
      limits: { memory: "4Gi" },
    });
    // Only the listed plain variables pass through; secrets come by reference.
    expect(container.env).toEqual([{ name: "STORAGE_EMULATOR_HOST", value: "http://gcs:4443" }]);
    expect(container.envFrom).toEqual([{ secretRef: { name: "churn-env", optional: true } }]);
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("makes an Indexed Job with per-index retries when sharded", () => {
    const job = executor().jobFor({ ...invocation, step: "score", component: "score" }, owner, 4);
    expect(job.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 4,
      parallelism: 4,
      backoffLimitPerIndex: 2,
      maxFailedIndexes: 0,
    });
    expect(job.spec?.backoffLimit).toBeUndefined();
    const container = job.spec!.template.spec!.containers[0]!;
    expect(container.args).toContain("score-shard-$(JOB_COMPLETION_INDEX)");
    expect(container.env?.[0]?.valueFrom?.fieldRef?.fieldPath).toBe(
      "metadata.annotations['batch.kubernetes.io/job-completion-index']",
    );
  });
});

describe("podProblem", () => {
  const pod = (status: V1Pod["status"], memory?: string): V1Pod => ({
    metadata: { name: "p" },
    spec: { containers: [{ name: "churn", resources: memory ? { limits: { memory } } : undefined }] },
    status,
  });
  it.each([
    [
      pod(
        {
          containerStatuses: [
            {
              name: "churn",
              image: "x:1",
              imageID: "",
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 137, reason: "OOMKilled" } },
            },
          ],
        },
        "1Gi",
      ),
      "ran out of memory and was killed (OOMKilled, limit 1Gi)",
    ],
    [
      pod({
        containerStatuses: [
          {
            name: "churn",
            image: "x:1",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "ErrImagePull", message: "not found" } },
          },
        ],
      }),
      "image x:1 could not be pulled (ErrImagePull: not found)",
    ],
    [pod({ reason: "Evicted", message: "low on memory" }), "pod p was evicted from its node: low on memory"],
    [pod({ reason: "DeadlineExceeded" }), "pod p ran past its deadline and was stopped"],
    [pod({ phase: "Failed" }), null],
  ])("%#", (input, expected) => {
    expect(podProblem(input)).toBe(expected);
  });
});

describe("driverJob", () => {
  it("runs the weekly pipeline in-cluster under the runner's ServiceAccount, named from the run id", () => {
    const job = driverJob({
      runId: "r-0123456789abcdef",
      bucket: "gs://acme-churn",
      weekly: "weekly/2024-W18.csv",
      config: { kubernetes: { namespace: "churn", image: "img:1", service_account: "churn-runner" } },
    });
    expect(job.metadata?.name).toBe("r-0123456789abcdef-driver");
    expect(job.spec?.template.spec?.serviceAccountName).toBe("churn-runner");
    expect(job.spec?.template.spec?.containers[0]?.args).toEqual([
      "pipeline",
      "run",
      "weekly",
      "--bucket",
      "gs://acme-churn",
      "--weekly",
      "weekly/2024-W18.csv",
      "--runner",
      "kubernetes",
      "--in-cluster",
      "--namespace",
      "churn",
    ]);
  });
});

describe("resolveInputs of a sharded upstream step", () => {
  it("lists the parts of a sharded output in shard order", async () => {
    const ref = (n: number) => ({ object: `runs/r/steps/score-shard-${n}/scores.csv`, sha256: `h${n}` });
    const doc = {
      outputs: { scores: ref(0), "scores-1": ref(1), "scores-2": ref(2) },
    } as unknown as OutputDoc;
    const merge = weeklyPipeline.steps.find((s) => s.name === "merge-scores")!;
    const inputs = await resolveInputs(merge, {
      storage: {} as Storage,
      hasher: {} as ObjectHasher,
      trigger: null,
      upstream: new Map([["score", doc]]),
    });
    expect(inputs.scores).toEqual([ref(0), ref(1), ref(2)]);
  });
});
