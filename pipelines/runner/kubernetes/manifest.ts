import type {
  V1ConfigMap,
  V1EnvFromSource,
  V1EnvVar,
  V1Job,
  V1OwnerReference,
  V1PodFailurePolicy,
  V1ResourceRequirements,
} from "@kubernetes/client-node";
import { INTERRUPTED_EXIT } from "../../../components/common/errors.js";
import type { StepDefinition } from "../../dag.js";
import type { StepInvocation } from "../executor.js";
import { shardStep } from "../fan-out.js";
import { CONTAINER, jobName, LABELS } from "./names.js";
import { type ExtraVolume, podTemplate, runLabels } from "./pod-template.js";

// Pure: from a step invocation and the executor's settings to the objects the
// executor creates. No I/O, snapshot-tested (manifest.test.ts).

/** Environment variables copied from the driver into step pods when set (plain values, never secrets). */
export const PASS_THROUGH_ENV = [
  "STORAGE_EMULATOR_HOST",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "CHURN_LOG_LEVEL",
  "CHURN_CODE_VERSION",
] as const;

/** Where the credentials Secret is mounted; GOOGLE_APPLICATION_CREDENTIALS names its key.json. */
const CREDENTIALS_DIR = "/var/run/secrets/churn/gcp";

/** The executor's settings a step Job is built from. */
export interface StepJobSettings {
  namespace: string;
  /** Container image holding every component (config kubernetes.image). */
  image: string;
  /** Bucket URI the steps read and write (`--bucket`). */
  bucketUri: string;
  /** Pipeline name, for labels. */
  pipeline: string;
  /** Step definitions (resources, retries) by name. */
  steps: StepDefinition[];
  /** ServiceAccount the step pods run as (config kubernetes.service_account); null = the namespace default. */
  serviceAccount?: string | null;
  /** The driver's environment: the variables in PASS_THROUGH_ENV are copied when set. */
  env?: NodeJS.ProcessEnv;
  /** ConfigMap whose keys become environment variables of every step (optional reference). */
  envConfigMap?: string | null;
  /** Secret whose keys become environment variables of every step (a reference: never inlined). */
  envSecret?: string | null;
  /** Secret holding a GCP service-account key `key.json`, mounted and named by GOOGLE_APPLICATION_CREDENTIALS. */
  credentialsSecret?: string | null;
  /** Seconds a finished Job stays for inspection before the TTL controller removes it. */
  ttlSecondsAfterFinished?: number;
}

/**
 * The failure policy of every churn Job (steps and driver): exit 2 (bad input)
 * and 3 (no model) fail the Job at once, disruptions are retried for free.
 */
export function failurePolicy(): V1PodFailurePolicy {
  return {
    rules: [
      // Node drains and preemptions are not the step's fault: retry without counting.
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      // An interrupted step (130, SIGINT) is a disruption too: retried, never FailJob (DESIGN).
      {
        action: "Ignore",
        onExitCodes: { containerName: CONTAINER, operator: "In", values: [INTERRUPTED_EXIT] },
      },
      // Bad input (2) and the quality gate (3) cannot get better by retrying (DESIGN).
      { action: "FailJob", onExitCodes: { containerName: CONTAINER, operator: "In", values: [2, 3] } },
    ],
  };
}

/**
 * The per-run owner object: a ConfigMap named after the run id. Every step Job
 * points at it, so deleting it garbage-collects the run's Jobs and pods.
 */
export function runOwnerConfigMap(runId: string, pipeline: string): V1ConfigMap {
  return {
    metadata: {
      name: runId,
      labels: { [LABELS.runId]: runId, [LABELS.pipeline]: pipeline, "app.kubernetes.io/name": "churn" },
    },
    data: { run_id: runId, pipeline },
  };
}

/** The environment of a step's container: the shard index, the plain pass-through values, the credentials path. */
function stepEnv(settings: StepJobSettings, shards: number): V1EnvVar[] {
  const env: V1EnvVar[] = [];
  if (shards > 1) {
    // The Job controller sets this annotation on each pod of an Indexed Job.
    env.push({
      name: "JOB_COMPLETION_INDEX",
      valueFrom: {
        fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" },
      },
    });
  }
  for (const key of PASS_THROUGH_ENV) {
    const value = settings.env?.[key];
    if (value) env.push({ name: key, value });
  }
  if (settings.credentialsSecret)
    env.push({ name: "GOOGLE_APPLICATION_CREDENTIALS", value: `${CREDENTIALS_DIR}/key.json` });
  return env;
}

/** Environment by reference: the ConfigMap and Secret are optional, so a missing one is not a failed step. */
function stepEnvFrom(settings: StepJobSettings): V1EnvFromSource[] {
  return [
    ...(settings.envConfigMap ? [{ configMapRef: { name: settings.envConfigMap, optional: true } }] : []),
    ...(settings.envSecret ? [{ secretRef: { name: settings.envSecret, optional: true } }] : []),
  ];
}

function stepVolumes(settings: StepJobSettings): ExtraVolume[] {
  if (!settings.credentialsSecret) return [];
  return [
    {
      volume: { name: "gcp-credentials", secret: { secretName: settings.credentialsSecret } },
      mount: { name: "gcp-credentials", mountPath: CREDENTIALS_DIR, readOnly: true },
    },
  ];
}

function stepResources(step: StepDefinition | undefined): V1ResourceRequirements | undefined {
  if (!step?.resources) return undefined;
  return {
    requests: { cpu: step.resources.cpu, memory: step.resources.memory },
    // No CPU limit: throttling only slows a batch step; memory is the hard limit.
    limits: { memory: step.resources.memory },
  };
}

/**
 * The Job a step runs as: `churn component <name> --run --step --bucket`,
 * owned by the run's ConfigMap; an Indexed Job of `shards` pods when sharded,
 * each pod running its own shard step.
 */
export function stepJob(
  invocation: StepInvocation,
  settings: StepJobSettings,
  owner: V1OwnerReference,
  shards = 1,
): V1Job {
  const step = settings.steps.find((s) => s.name === invocation.step);
  const identity = {
    runId: invocation.runId,
    pipeline: settings.pipeline,
    step: invocation.step,
    role: "step" as const,
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(invocation.runId, invocation.step),
      namespace: settings.namespace,
      labels: runLabels(identity),
      ownerReferences: [owner],
    },
    spec: {
      ...(shards > 1
        ? {
            completionMode: "Indexed",
            completions: shards,
            parallelism: shards,
            // A failed shard is retried alone; one that keeps failing fails the Job at once.
            backoffLimitPerIndex: step?.retries ?? 2,
            maxFailedIndexes: 0,
          }
        : { backoffLimit: step?.retries ?? 2 }),
      activeDeadlineSeconds: invocation.timeoutSeconds,
      ttlSecondsAfterFinished: settings.ttlSecondsAfterFinished ?? 3600,
      podFailurePolicy: failurePolicy(),
      template: podTemplate({
        identity,
        image: settings.image,
        serviceAccount: settings.serviceAccount,
        args: [
          "component",
          invocation.component,
          "--run",
          invocation.runId,
          "--step",
          shards > 1 ? shardStep(invocation.step, "$(JOB_COMPLETION_INDEX)") : invocation.step,
          "--bucket",
          settings.bucketUri,
        ],
        env: stepEnv(settings, shards),
        envFrom: stepEnvFrom(settings),
        resources: stepResources(step),
        volumes: stepVolumes(settings),
      }),
    },
  };
}
