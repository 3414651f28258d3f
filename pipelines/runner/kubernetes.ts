import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import {
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  Log,
  type V1EnvVar,
  type V1Job,
  type V1OwnerReference,
  type V1Pod,
  type V1Volume,
  type V1VolumeMount,
  Watch,
} from "@kubernetes/client-node";
import { parseInputDoc, writeInputDoc } from "../../components/common/component/run.js";
import {
  type OutputDoc,
  outputDocSchema,
  STEP_DOC_VERSION,
  stepPrefix,
} from "../../components/common/component/spec.js";
import { type ExitCode, messageOf } from "../../components/common/errors.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { StepDefinition } from "../dag.js";
import { reasonFromLog, type StepExecutor, type StepInvocation, type StepOutcome } from "./executor.js";

/** Labels every object of a run carries (the same keys in the chart's selectors). */
export const LABELS = {
  runId: "churn.io/run-id",
  pipeline: "churn.io/pipeline",
  step: "churn.io/step",
} as const;

/** The step container's name (podFailurePolicy rules and pods/log refer to it). */
export const CONTAINER = "churn";

/** Environment variables copied from the driver into step pods when set (plain values, never secrets). */
const PASS_THROUGH_ENV = [
  "STORAGE_EMULATOR_HOST",
  "GOOGLE_CLOUD_PROJECT",
  "GCLOUD_PROJECT",
  "CHURN_LOG_LEVEL",
  "CHURN_CODE_VERSION",
];

export interface KubernetesExecutorOptions {
  kubeConfig: KubeConfig;
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
  /** How long a pod may wait on an image pull or config error before the step fails. */
  pendingGraceSeconds?: number;
  /** Longest wait between two looks at the Job when no watch event arrives. */
  pollMs?: number;
  /** The apiserver ends each watch after this long (then it is reopened from the last resourceVersion). */
  watchTimeoutSeconds?: number;
  /**
   * Shards of the score step (config score.shards): above 1 it runs as an
   * Indexed Job, one pod per contiguous block of record batches; "auto"
   * picks one shard per SHARD_BYTES of ingest's output. Needs `storage`.
   */
  scoreShards?: number | "auto";
  /** The bucket, for sharded scoring (shard input documents and the merged part list). */
  storage?: Storage;
}

/** Bytes of typed rows per score shard when score.shards is "auto". */
export const SHARD_BYTES = 256 << 20;
const MAX_AUTO_SHARDS = 32;

/** The step name of shard `index` of a sharded step (its own input.json and outputs). */
export function shardStep(step: string, index: number | string): string {
  return `${step}-shard-${index}`;
}

/** A valid DNS-1123 label (≤ 63 chars) from parts; over-long names keep a hash suffix so they stay unique. */
export function jobName(...parts: string[]): string {
  const raw = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (raw.length <= 63) return raw;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 8);
  return `${raw.slice(0, 54).replace(/-$/, "")}-${hash}`;
}

function isStatus(error: unknown, code: number): boolean {
  return (error as { code?: number } | null)?.code === code;
}

/** The apiserver's own sentence from an API error (its Status message), not the client's dump of headers. */
export function apiMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === "string") {
    try {
      const status = JSON.parse(body) as { message?: string };
      if (status.message) return status.message;
    } catch {
      // not a Status document
    }
  }
  return messageOf(error);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * The per-run owner object: a ConfigMap named after the run id. Every step Job
 * points at it, so deleting it garbage-collects the run's Jobs and pods.
 */
export async function ensureRunOwner(
  core: CoreV1Api,
  namespace: string,
  runId: string,
  pipeline: string,
): Promise<V1OwnerReference> {
  const body = {
    metadata: {
      name: runId,
      labels: { [LABELS.runId]: runId, [LABELS.pipeline]: pipeline, "app.kubernetes.io/name": "churn" },
    },
    data: { run_id: runId, pipeline },
  };
  let uid: string | undefined;
  try {
    uid = (await core.createNamespacedConfigMap({ namespace, body })).metadata?.uid;
  } catch (error) {
    if (!isStatus(error, 409)) throw error;
    uid = (await core.readNamespacedConfigMap({ name: runId, namespace })).metadata?.uid;
  }
  if (!uid) throw new Error(`ConfigMap ${namespace}/${runId} has no uid`);
  return { apiVersion: "v1", kind: "ConfigMap", name: runId, uid, blockOwnerDeletion: false };
}

/** Deletes a run's owner object; the garbage collector then removes its Jobs and their pods. */
export async function deleteRun(kubeConfig: KubeConfig, namespace: string, runId: string): Promise<boolean> {
  try {
    await kubeConfig
      .makeApiClient(CoreV1Api)
      .deleteNamespacedConfigMap({ name: runId, namespace, propagationPolicy: "Background" });
    return true;
  } catch (error) {
    if (isStatus(error, 404)) return false;
    throw error;
  }
}

/** Plain-words reasons for a failed or stuck pod, from its status (OOMKilled, pull errors, evictions...). */
export function podProblem(pod: V1Pod): string | null {
  const name = pod.metadata?.name ?? "pod";
  if (pod.status?.reason === "Evicted")
    return `pod ${name} was evicted from its node${pod.status.message ? `: ${pod.status.message}` : ""}`;
  if (pod.status?.reason === "DeadlineExceeded") return `pod ${name} ran past its deadline and was stopped`;
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && /ErrImagePull|ImagePullBackOff|InvalidImageName/.test(waiting.reason)) {
      return `image ${status.image} could not be pulled (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""})`;
    }
    if (waiting?.reason && /CreateContainerConfigError|CreateContainerError/.test(waiting.reason)) {
      return `the container could not be created (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""})`;
    }
    const terminated = status.state?.terminated ?? status.lastState?.terminated;
    if (terminated?.reason === "OOMKilled") {
      const limit = pod.spec?.containers.find((c) => c.name === status.name)?.resources?.limits?.memory;
      return `ran out of memory and was killed (OOMKilled${limit ? `, limit ${limit}` : ""})`;
    }
    if (terminated?.reason === "DeadlineExceeded") return `pod ${name} ran past its deadline and was stopped`;
  }
  const disruption = pod.status?.conditions?.find(
    (c) => c.type === "DisruptionTarget" && c.status === "True",
  );
  if (disruption) return `pod ${name} was disrupted (${disruption.reason ?? "DisruptionTarget"})`;
  return null;
}

function exitCodeOfPod(pod: V1Pod): number | null {
  const status = pod.status?.containerStatuses?.find((s) => s.name === CONTAINER);
  return status?.state?.terminated?.exitCode ?? null;
}

function finishedCondition(job: V1Job) {
  return job.status?.conditions?.find(
    (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
  );
}

/**
 * Runs each step as a batch/v1 Job (`churn component <name> --run --step --bucket`
 * in the project image), owned by the run's ConfigMap. The Job controller
 * retries transient failures (backoffLimit) and fails the Job at once on exit
 * 2 or 3 (podFailurePolicy); this executor waits with a watch (re-reading the
 * Job whenever the watch drops, so no event is lost), copies pod logs into the
 * step log, and maps the outcome back to the CLI's exit codes.
 */
export class KubernetesJobExecutor implements StepExecutor {
  readonly name = "kubernetes";
  /** The Job's backoffLimit retries exit 1; the runner must not retry on top. */
  readonly handlesRetries = true;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly owners = new Map<string, Promise<V1OwnerReference>>();
  /** How many Job watches were opened (each drop is followed by a reopen): for logs and tests. */
  watchesOpened = 0;

  constructor(private readonly options: KubernetesExecutorOptions) {
    this.batch = options.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  /**
   * How many shards a step runs as: 1 except for score with score.shards > 1
   * (or "auto" over a big input). A sharded step gets one input.json per shard
   * (its own parameters shard_index/shard_count), written before the Job.
   */
  private async shardsFor(invocation: StepInvocation): Promise<number> {
    const { storage, scoreShards } = this.options;
    if (invocation.component !== "score" || !storage || scoreShards === undefined || scoreShards === 1)
      return 1;
    const inputName = `${stepPrefix(invocation.runId, invocation.step)}input.json`;
    const doc = parseInputDoc(await storage.readText(inputName), `${storage.uri}/${inputName}`);
    let shards: number;
    if (scoreShards === "auto") {
      const size =
        doc.inputs.rows?.[0]?.size ?? (await storage.stat(doc.inputs.rows?.[0]?.object ?? ""))?.size ?? 0;
      shards = Math.min(MAX_AUTO_SHARDS, Math.max(1, Math.ceil(size / SHARD_BYTES)));
    } else shards = scoreShards;
    if (shards <= 1) return 1;
    for (let index = 0; index < shards; index++) {
      await writeInputDoc(storage, {
        component: doc.component,
        run: doc.run,
        step: shardStep(invocation.step, index),
        inputs: doc.inputs,
        parameters: { ...doc.parameters, shard_index: index, shard_count: shards },
        createdAt: new Date().toISOString(),
      });
    }
    return shards;
  }

  /**
   * After an Indexed score Job: the step's output.json lists the shard parts
   * in order (port `scores` is part 0, `scores-<i>` the others: merge-scores
   * concatenates them); counts are summed.
   */
  private async gatherShards(invocation: StepInvocation, shards: number): Promise<void> {
    const storage = this.options.storage as Storage;
    const parts: OutputDoc[] = [];
    for (let index = 0; index < shards; index++) {
      const name = `${stepPrefix(invocation.runId, shardStep(invocation.step, index))}output.json`;
      parts.push(outputDocSchema.parse(JSON.parse(await storage.readText(name))));
    }
    const counts: Record<string, number> = {};
    for (const part of parts)
      for (const [key, value] of Object.entries(part.counts)) counts[key] = (counts[key] ?? 0) + value;
    const outputs: OutputDoc["outputs"] = {};
    parts.forEach((part, index) => {
      for (const [port, ref] of Object.entries(part.outputs))
        outputs[index === 0 ? port : `${port}-${index}`] = ref;
    });
    const first = parts[0] as OutputDoc;
    const last = parts[parts.length - 1] as OutputDoc;
    const doc: OutputDoc = {
      version: STEP_DOC_VERSION,
      component: first.component,
      run: invocation.runId,
      step: invocation.step,
      outputs,
      counts,
      timings: {
        startedAt: parts.map((p) => p.timings.startedAt).sort()[0] ?? first.timings.startedAt,
        finishedAt:
          parts
            .map((p) => p.timings.finishedAt)
            .sort()
            .at(-1) ?? last.timings.finishedAt,
        seconds: Math.max(...parts.map((p) => p.timings.seconds)),
      },
      summary: { ...(first.summary as object), shard: { count: shards } },
    };
    await storage.write(
      `${stepPrefix(invocation.runId, invocation.step)}output.json`,
      `${JSON.stringify(doc, null, 2)}\n`,
      {
        contentType: "application/json",
        metadata: { "churn-writer": "runner" },
      },
    );
  }

  /** The Job a step runs as (exported for tests and `churn pipeline show`-style inspection); Indexed when sharded. */
  jobFor(invocation: StepInvocation, owner: V1OwnerReference, shards = 1): V1Job {
    const o = this.options;
    const step = o.steps.find((s) => s.name === invocation.step);
    const name = jobName(invocation.runId, invocation.step);
    const labels = {
      [LABELS.runId]: invocation.runId,
      [LABELS.pipeline]: o.pipeline,
      [LABELS.step]: invocation.step,
      "app.kubernetes.io/name": "churn",
      "app.kubernetes.io/component": "step",
    };
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
      const value = o.env?.[key];
      if (value) env.push({ name: key, value });
    }
    // The root filesystem is read-only: scratch space is an emptyDir.
    const volumes: V1Volume[] = [{ name: "tmp", emptyDir: {} }];
    const volumeMounts: V1VolumeMount[] = [{ name: "tmp", mountPath: "/tmp" }];
    if (o.credentialsSecret) {
      volumes.push({ name: "gcp-credentials", secret: { secretName: o.credentialsSecret } });
      volumeMounts.push({ name: "gcp-credentials", mountPath: "/var/run/secrets/churn/gcp", readOnly: true });
    }
    if (o.credentialsSecret)
      env.push({ name: "GOOGLE_APPLICATION_CREDENTIALS", value: "/var/run/secrets/churn/gcp/key.json" });
    const envFrom = [
      ...(o.envConfigMap ? [{ configMapRef: { name: o.envConfigMap, optional: true } }] : []),
      ...(o.envSecret ? [{ secretRef: { name: o.envSecret, optional: true } }] : []),
    ];
    const resources = step?.resources
      ? {
          requests: { cpu: step.resources.cpu, memory: step.resources.memory },
          // No CPU limit: throttling only slows a batch step; memory is the hard limit.
          limits: { memory: step.resources.memory },
        }
      : undefined;
    return {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, namespace: o.namespace, labels, ownerReferences: [owner] },
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
        ttlSecondsAfterFinished: o.ttlSecondsAfterFinished ?? 3600,
        podFailurePolicy: {
          rules: [
            // Node drains and preemptions are not the step's fault: retry without counting.
            { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
            // Bad input (2) and the quality gate (3) cannot get better by retrying (DESIGN).
            {
              action: "FailJob",
              onExitCodes: { containerName: CONTAINER, operator: "In", values: [2, 3] },
            },
          ],
        },
        template: {
          metadata: { labels },
          spec: {
            restartPolicy: "Never",
            serviceAccountName: o.serviceAccount ?? undefined,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65534,
              seccompProfile: { type: "RuntimeDefault" },
            },
            volumes,
            containers: [
              {
                name: CONTAINER,
                image: o.image,
                // The image's entrypoint is `churn`.
                args: [
                  "component",
                  invocation.component,
                  "--run",
                  invocation.runId,
                  "--step",
                  shards > 1 ? shardStep(invocation.step, "$(JOB_COMPLETION_INDEX)") : invocation.step,
                  "--bucket",
                  o.bucketUri,
                ],
                env: env.length ? env : undefined,
                envFrom: envFrom.length ? envFrom : undefined,
                resources,
                volumeMounts,
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
              },
            ],
          },
        },
      },
    };
  }

  private owner(runId: string): Promise<V1OwnerReference> {
    let owner = this.owners.get(runId);
    if (!owner) {
      owner = ensureRunOwner(this.core, this.options.namespace, runId, this.options.pipeline);
      owner.catch(() => this.owners.delete(runId));
      this.owners.set(runId, owner);
    }
    return owner;
  }

  async execute(invocation: StepInvocation, log: PassThrough, signal: AbortSignal): Promise<StepOutcome> {
    const { namespace } = this.options;
    let job: V1Job;
    // The runner wrote each shard's input.json and gathers the parts (fan-out.ts).
    const shards = invocation.shards ?? 1;
    try {
      const body = this.jobFor(invocation, await this.owner(invocation.runId), shards);
      try {
        job = await this.batch.createNamespacedJob({ namespace, body });
        log.write(`job ${namespace}/${body.metadata?.name} created\n`);
      } catch (error) {
        // A previous driver of the same run made it already: wait for that one.
        if (!isStatus(error, 409)) throw error;
        job = await this.batch.readNamespacedJob({ name: body.metadata?.name ?? "", namespace });
        log.write(`job ${namespace}/${body.metadata?.name} already exists: waiting for it\n`);
      }
    } catch (error) {
      // Forbidden, missing namespace or an invalid object: configuration, which a retry cannot fix.
      const code = (error as { code?: number } | null)?.code;
      const exitCode: ExitCode = code === 403 || code === 404 || code === 422 ? 2 : 1;
      return {
        exitCode,
        error: `could not create the step's Job in namespace ${namespace}: ${apiMessage(error)}`,
      };
    }
    const name = job.metadata?.name ?? "";
    const follower = new PodLogs(this.options.kubeConfig, namespace, log);
    try {
      const result = await this.wait(name, job, follower, signal);
      await follower.drain(10_000);
      return result;
    } catch (error) {
      await follower.drain(2_000);
      return { exitCode: 1, error: `lost track of Job ${name}: ${apiMessage(error)}` };
    }
  }

  /** Waits for the Job to finish (or the signal), following its pods' logs as they start. */
  private async wait(
    name: string,
    initial: V1Job,
    follower: PodLogs,
    signal: AbortSignal,
  ): Promise<StepOutcome> {
    const { namespace } = this.options;
    const pollMs = this.options.pollMs ?? 5_000;
    const graceMs = (this.options.pendingGraceSeconds ?? 120) * 1000;
    const watcher = new JobWatch(
      this.options.kubeConfig,
      namespace,
      name,
      this.options.watchTimeoutSeconds ?? 300,
      () => this.watchesOpened++,
    );
    const pendingSince = new Map<string, number>();
    let job = initial;
    try {
      for (;;) {
        if (signal.aborted) {
          await this.cancel(name);
          return { exitCode: 1, error: `step Job ${name} was cancelled` };
        }
        const pods = await this.podsOf(name);
        for (const pod of pods) follower.follow(pod);
        const done = finishedCondition(job);
        if (done) return await this.outcome(job, done.type, done.reason, done.message, pods, follower);
        // A pod stuck on its image or config never fails by itself: give up after a grace period.
        for (const pod of pods) {
          const problem = pod.status?.phase === "Pending" ? podProblem(pod) : null;
          const podName = pod.metadata?.name ?? "";
          if (!problem) {
            pendingSince.delete(podName);
            continue;
          }
          const since = pendingSince.get(podName) ?? Date.now();
          pendingSince.set(podName, since);
          if (Date.now() - since >= graceMs) {
            await this.cancel(name);
            return { exitCode: 1, error: problem };
          }
        }
        // Wake on the next change of the Job, or after pollMs anyway.
        job = (await watcher.next(job, pollMs, signal)) ?? job;
        if (!finishedCondition(job)) job = await this.batch.readNamespacedJob({ name, namespace });
      }
    } finally {
      watcher.close();
    }
  }

  private async podsOf(job: string): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod({
      namespace: this.options.namespace,
      labelSelector: `job-name=${job}`,
    });
    return list.items.sort((a, b) =>
      String(a.metadata?.creationTimestamp ?? "").localeCompare(String(b.metadata?.creationTimestamp ?? "")),
    );
  }

  private async cancel(name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({
        name,
        namespace: this.options.namespace,
        propagationPolicy: "Background",
      });
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
  }

  private async outcome(
    job: V1Job,
    type: string,
    reason: string | undefined,
    message: string | undefined,
    pods: V1Pod[],
    follower: PodLogs,
  ): Promise<StepOutcome> {
    const name = job.metadata?.name ?? "";
    if (type === "Complete") return { exitCode: 0, error: null };
    // The pod that decided the Job's fate is the last one that failed.
    const failed = pods.filter((p) => p.status?.phase === "Failed");
    const last = failed[failed.length - 1] ?? pods[pods.length - 1];
    await follower.drain(10_000);
    const code = last ? exitCodeOfPod(last) : null;
    const exitCode: ExitCode = code === 2 || code === 3 ? code : 1;
    const fromLog = last ? reasonFromLog(follower.textOf(last.metadata?.name ?? "")) : null;
    const fromPod = last ? podProblem(last) : null;
    let error: string;
    if (reason === "DeadlineExceeded")
      error = `step Job ${name} ran past its deadline of ${job.spec?.activeDeadlineSeconds} s and was stopped`;
    else if (fromPod) error = fromPod;
    else if (fromLog) error = fromLog;
    else if (code !== null) error = `exited with code ${code}`;
    else
      error = (await this.warnings(last)) ?? `Job ${name} failed (${reason ?? "unknown"}: ${message ?? ""})`;
    if (reason === "BackoffLimitExceeded" && (job.status?.failed ?? 0) > 1)
      error = `${error} (after ${job.status?.failed} attempts)`;
    return { exitCode, error };
  }

  /** The latest Warning events of a pod, joined: the reason when the status has none. */
  private async warnings(pod: V1Pod | undefined): Promise<string | null> {
    if (!pod?.metadata?.name) return null;
    try {
      const events = await this.core.listNamespacedEvent({
        namespace: this.options.namespace,
        fieldSelector: `involvedObject.name=${pod.metadata.name}`,
      });
      const warnings = events.items
        .filter((e) => e.type === "Warning")
        .map((e) => `${e.reason}: ${e.message}`);
      return warnings.length ? warnings.slice(-3).join("; ") : null;
    } catch {
      return null;
    }
  }
}

/**
 * A watch on one Job that survives drops: each `next` opens a watch from the
 * last resourceVersion seen (or re-reads when it expired) and resolves on the
 * first change, on timeout, or on abort.
 */
class JobWatch {
  private lastVersion: string | undefined;
  private controller: AbortController | undefined;
  private latest: V1Job | undefined;
  private wake: (() => void) | undefined;
  private open = false;
  private startedAt = 0;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly timeoutSeconds: number,
    private readonly onOpen: () => void,
  ) {}

  async next(current: V1Job, timeoutMs: number, signal: AbortSignal): Promise<V1Job | undefined> {
    const version = current.metadata?.resourceVersion;
    if (version && (!this.lastVersion || Number(version) > Number(this.lastVersion)))
      this.lastVersion = version;
    this.latest = undefined;
    const woken = new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    if (!this.open) await this.start();
    const timeout = new AbortController();
    const onAbort = () => timeout.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    await Promise.race([woken, sleep(timeoutMs, timeout.signal)]);
    timeout.abort();
    signal.removeEventListener("abort", onAbort);
    this.wake = undefined;
    return this.latest;
  }

  private async start(): Promise<void> {
    // A watch the server keeps closing at once is not reopened in a tight loop: the poll covers it.
    if (Date.now() - this.startedAt < 500) return;
    this.startedAt = Date.now();
    this.open = true;
    try {
      this.controller = await new Watch(this.kubeConfig).watch(
        `/apis/batch/v1/namespaces/${this.namespace}/jobs`,
        {
          fieldSelector: `metadata.name=${this.name}`,
          resourceVersion: this.lastVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.timeoutSeconds,
        },
        (phase, object: V1Job) => {
          const version = object?.metadata?.resourceVersion;
          if (version) this.lastVersion = version;
          if (phase === "ERROR") {
            // 410 Gone: the version is too old; the caller's re-read gives a fresh one.
            this.lastVersion = undefined;
          } else if (phase !== "BOOKMARK") {
            this.latest = object;
          }
          this.wake?.();
        },
        () => {
          // Dropped (timeout, apiserver restart, network): reopen on the next call.
          this.open = false;
          this.wake?.();
        },
      );
      this.onOpen();
    } catch {
      this.open = false;
    }
  }

  close(): void {
    this.controller?.abort();
    this.open = false;
  }
}

/** Follows each pod's container log once, copying it into the step log with a header per pod. */
class PodLogs {
  private readonly followed = new Map<string, { text: string; done: Promise<void> }>();
  private readonly controllers: AbortController[] = [];

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly log: PassThrough,
  ) {}

  /** Starts following a pod's log when its container has started (no-op when already followed). */
  follow(pod: V1Pod): void {
    const name = pod.metadata?.name;
    if (!name || this.followed.has(name)) return;
    const started = pod.status?.containerStatuses?.some((s) => s.state?.running || s.state?.terminated);
    if (!started) return;
    const entry = { text: "", done: Promise.resolve() };
    this.followed.set(name, entry);
    const stream = new PassThrough();
    let header = false;
    stream.on("data", (chunk: Buffer) => {
      if (!header) {
        this.log.write(`--- pod ${name}\n`);
        header = true;
      }
      entry.text = (entry.text + chunk.toString("utf8")).slice(-8192);
      if (this.log.writable) this.log.write(chunk);
    });
    entry.done = new Promise<void>((resolve) => {
      stream.on("end", () => resolve());
      stream.on("close", () => resolve());
      stream.on("error", () => resolve());
      new Log(this.kubeConfig)
        .log(this.namespace, name, CONTAINER, stream, { follow: true })
        .then((controller) => this.controllers.push(controller))
        .catch((error) => {
          if (this.log.writable) this.log.write(`(no log for pod ${name}: ${messageOf(error)})\n`);
          resolve();
        });
    });
  }

  /** The last 8 KiB of a pod's log. */
  textOf(pod: string): string {
    return this.followed.get(pod)?.text ?? "";
  }

  /** Waits (at most timeoutMs) for every followed log to end, then stops the rest. */
  async drain(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.all([...this.followed.values()].map((e) => e.done)), sleep(timeoutMs)]);
    for (const controller of this.controllers) controller.abort();
  }
}
