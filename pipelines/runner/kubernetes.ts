import type { PassThrough } from "node:stream";
import { CoreV1Api, type KubeConfig, type V1Job, type V1OwnerReference } from "@kubernetes/client-node";
import type { ExitCode } from "../../components/common/errors.js";
import type { StepExecutor, StepInvocation, StepOutcome } from "./executor.js";
import { apiMessage, isStatus, statusOf } from "./kubernetes/api-errors.js";
import { type NamespaceApi, namespaceApi } from "./kubernetes/client.js";
import { PodLogs } from "./kubernetes/logs.js";
import { type StepJobSettings, stepJob } from "./kubernetes/manifest.js";
import { finishedJobOutcome } from "./kubernetes/outcome.js";
import { ensureRunOwner } from "./kubernetes/run-owner.js";
import { type JobEnd, waitForJob } from "./kubernetes/watch.js";

// The Kubernetes executor, glue over kubernetes/: the manifest (what a step's
// Job looks like), the watch (waiting on the Job and its pods), the logs
// (copying pod logs into the step log) and the outcome (exit code and sentence).
// Importers reach the names they need from here.
export { apiMessage } from "./kubernetes/api-errors.js";
export { CONTAINER, jobName, LABELS } from "./kubernetes/names.js";
export { podProblem } from "./kubernetes/pod-problem.js";
export { deleteRun, ensureRunOwner } from "./kubernetes/run-owner.js";

export interface KubernetesExecutorOptions extends StepJobSettings {
  kubeConfig: KubeConfig;
  /** How long a pod may wait on an image pull or config error before the step fails. */
  pendingGraceSeconds?: number;
  /** Longest wait between two looks at the Job when no watch event arrives. */
  pollMs?: number;
  /** The apiserver ends each watch after this long (then it is reopened from the last resourceVersion). */
  watchTimeoutSeconds?: number;
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
  private readonly api: NamespaceApi;
  private readonly core: CoreV1Api;
  private readonly owners = new Map<string, Promise<V1OwnerReference>>();
  /** How many Job watches were opened (each drop is followed by a reopen): for logs and tests. */
  watchesOpened = 0;

  constructor(private readonly options: KubernetesExecutorOptions) {
    this.api = namespaceApi(options.kubeConfig, options.namespace);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  /** The Job a step runs as (kubernetes/manifest.ts#stepJob with this executor's settings); Indexed when sharded. */
  jobFor(invocation: StepInvocation, owner: V1OwnerReference, shards = 1): V1Job {
    return stepJob(invocation, this.options, owner, shards);
  }

  /** The run's owner reference, created once per run id (a failed attempt is forgotten so the next one retries). */
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
    // A fanned-out step is one Indexed Job; the runner wrote each shard's input.json and gathers the parts.
    const shards = invocation.shards ?? 1;
    try {
      const body = this.jobFor(invocation, await this.owner(invocation.runId), shards);
      try {
        job = await this.api.createJob(body);
        log.write(`job ${namespace}/${body.metadata?.name} created\n`);
      } catch (error) {
        // A previous driver of the same run made it already: wait for that one.
        if (!isStatus(error, 409)) throw error;
        job = await this.api.readJob(body.metadata?.name ?? "");
        log.write(`job ${namespace}/${body.metadata?.name} already exists: waiting for it\n`);
      }
    } catch (error) {
      // Forbidden, missing namespace or an invalid object: configuration, which a retry cannot fix.
      const code = statusOf(error);
      const exitCode: ExitCode = code === 403 || code === 404 || code === 422 ? 2 : 1;
      return {
        exitCode,
        error: `could not create the step's Job in namespace ${namespace}: ${apiMessage(error)}`,
      };
    }
    const name = job.metadata?.name ?? "";
    const logs = new PodLogs(this.api.followLog, log);
    try {
      const end = await waitForJob({
        api: this.api,
        job,
        pollMs: this.options.pollMs ?? 5_000,
        pendingGraceMs: (this.options.pendingGraceSeconds ?? 120) * 1000,
        watchTimeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
        onWatchOpened: () => this.watchesOpened++,
        onPods: (pods) => logs.followAll(pods),
        signal,
      });
      const result = await this.outcomeOf(name, end, logs);
      await logs.drain(10_000);
      return result;
    } catch (error) {
      await logs.drain(2_000);
      return { exitCode: 1, error: `lost track of Job ${name}: ${apiMessage(error)}` };
    }
  }

  /** The step's outcome from how waiting on its Job ended. */
  private async outcomeOf(name: string, end: JobEnd, logs: PodLogs): Promise<StepOutcome> {
    switch (end.state) {
      case "cancelled":
        return { exitCode: 1, error: `step Job ${name} was cancelled` };
      case "stuck":
        return { exitCode: 1, error: end.problem };
      case "finished":
        return finishedJobOutcome(end.job, end.condition, end.pods, logs, (pod) => this.api.podWarnings(pod));
    }
  }
}
