import type { Command } from "commander";
import type { z } from "zod";
import { type Component, summaryOf } from "../components/common/component/spec.js";
import { type ChurnConfig, loadConfig } from "../components/common/config/index.js";
import { envValue } from "../components/common/environment.js";
import { UsageError } from "../components/common/errors.js";
import type { Storage } from "../components/common/storage/index.js";
import type { PipelineDefinition } from "../pipelines/dag.js";
import { runDecisionLine } from "../pipelines/query/index.js";
import { LocalProcessExecutor, type StepExecutor } from "../pipelines/runner/executor.js";
import { type RunResult, readOutputDoc, runPipeline } from "../pipelines/runner/run.js";
import type { CliEvent } from "./event-lines.js";
import { type CommandContext, openBucket } from "./io.js";
import { progressView } from "./progress.js";

/**
 * What every command that runs a pipeline shares (`churn pipeline run`,
 * `churn score`, `churn train`): the `--runner` flags, building the executor,
 * running with Ctrl-C handling, and drawing its progress on the terminal
 * (commands/pipeline.ts has the closing lines, `describeRun`).
 */

/** The runners a command can choose with `--runner`. */
export const RUNNERS = ["local", "kubernetes"] as const;
export type RunnerName = (typeof RUNNERS)[number];

/** How the steps of a run execute, as the flags chose it. */
export type RunnerChoice =
  | { runner: "local" }
  | {
      runner: "kubernetes";
      /** Namespace of the step Jobs (default: the pod's own in-cluster, else churn.yaml kubernetes.namespace). */
      namespace?: string;
      /** Use the pod's ServiceAccount instead of a kubeconfig. */
      inCluster: boolean;
    };

/** The raw runner flags, as commander gives them. */
export interface RunnerFlags {
  runner?: string;
  namespace?: string;
  inCluster?: boolean;
}

/** Add `--runner`, `--namespace` and `--in-cluster` to a command (parse them with `runnerChoice`). */
export function addRunnerOptions(command: Command): Command {
  return command
    .option("--runner <runner>", "local (child processes) or kubernetes (Jobs)", "local")
    .option(
      "--namespace <name>",
      "kubernetes runner: namespace of the step Jobs (default: the pod's own in-cluster, else churn.yaml kubernetes.namespace)",
    )
    .option("--in-cluster", "kubernetes runner: use the pod's ServiceAccount instead of a kubeconfig");
}

function isRunnerName(value: string): value is RunnerName {
  return (RUNNERS as readonly string[]).includes(value);
}

/** Check the runner flags together; conflicting ones are a usage error saying what to do. */
export function runnerChoice(flags: RunnerFlags): RunnerChoice {
  const runner = flags.runner ?? "local";
  if (!isRunnerName(runner)) throw new UsageError(`--runner must be local or kubernetes, not ${runner}`);
  if (runner === "local") {
    if (flags.inCluster || flags.namespace)
      throw new UsageError("--in-cluster and --namespace apply to --runner kubernetes only");
    return { runner };
  }
  return { runner, namespace: flags.namespace, inCluster: flags.inCluster === true };
}

/** The executor of a choice, for one pipeline on one bucket. */
async function executorFor(
  choice: RunnerChoice,
  storage: Storage,
  config: ChurnConfig,
  pipeline: PipelineDefinition,
  env: NodeJS.ProcessEnv,
): Promise<StepExecutor> {
  if (choice.runner === "local") return new LocalProcessExecutor(storage.uri, env);
  // Loaded only here: the Kubernetes client alone takes ~0.4 s to import, and
  // every local step process starts this CLI.
  const [{ KubernetesJobExecutor }, { inClusterNamespace, loadKubeConfig }, { checkCluster }] =
    await Promise.all([
      import("../pipelines/runner/kubernetes.js"),
      import("../pipelines/runner/kubernetes-driver.js"),
      import("../pipelines/runner/kubernetes/preflight.js"),
    ]);
  const kubeConfig = loadKubeConfig({ inCluster: choice.inCluster, env });
  const namespace =
    choice.namespace ?? (choice.inCluster ? inClusterNamespace(env) : null) ?? config.kubernetes.namespace;
  // Before the run starts (and leaves an attempt behind): is there a cluster we may use?
  await checkCluster(kubeConfig, namespace);
  return new KubernetesJobExecutor({
    kubeConfig,
    namespace,
    image: config.kubernetes.image,
    serviceAccount: config.kubernetes.service_account,
    bucketUri: storage.uri,
    pipeline: pipeline.name,
    steps: pipeline.steps,
    env,
  });
}

/** One run a command asks for. */
export interface CliRunRequest {
  bucket: string;
  pipeline: PipelineDefinition;
  runner: RunnerChoice;
  /** The triggering object (--weekly, --transactions); default: the newest upload. */
  trigger?: string;
  force?: boolean;
  noCache?: boolean;
  /** Run only this step of the run (`churn pipeline step`). */
  only?: string;
}

/**
 * Run a pipeline for a command: open the bucket, read churn.yaml, build the
 * executor, draw progress on stderr, and on Ctrl-C stop the steps so the same
 * command resumes the run. Returns the bucket too, for reading step outputs.
 */
export async function runFromCli(
  ctx: CommandContext,
  request: CliRunRequest,
): Promise<{ storage: Storage; result: RunResult }> {
  const storage = await openBucket(request.bucket, ctx);
  const config = await loadConfig(storage);
  const executor = await executorFor(request.runner, storage, config, request.pipeline, ctx.env);
  const interrupt = new AbortController();
  const view = progress(ctx);
  const onSigint = () => {
    view({ type: "interrupted" });
    interrupt.abort();
  };
  process.once("SIGINT", onSigint);
  try {
    const result = await runPipeline({
      storage,
      pipeline: request.pipeline,
      executor,
      trigger: request.trigger,
      force: request.force,
      noCache: request.noCache,
      logger: ctx.logger,
      onEvent: view,
      webhookUrl: config.notify.webhook_url,
      signal: interrupt.signal,
      env: ctx.env,
      // Fan-out counts (score.shards): the runner plans shards for every executor.
      config,
      // Shorter leases make crash-recovery tests fast; the default suits real runs.
      leaseTtlMs: envValue(ctx.env, "CHURN_LEASE_TTL_MS"),
      only: request.only,
    });
    // The closing lines are stdout's; a JSON event stream ends with them as one event too.
    if (ctx.jsonEvents && !ctx.json)
      view({
        type: "summary",
        record: result.record,
        reused: result.reused,
        decision: result.record.state === "succeeded" ? await runDecisionLine(storage, result.record) : null,
      });
    return { storage, result };
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}

/**
 * Progress on stderr (stdout stays for the result and --json): see
 * progress.ts. With --json only Ctrl-C is said there (the record on stdout
 * is the whole story).
 */
export function progress(ctx: CommandContext): (event: CliEvent) => void {
  const view = progressView(ctx.stderr);
  if (!ctx.json) return view;
  return (event) => {
    if (event.type === "interrupted") view(event);
  };
}

/** A finished step's summary, typed by its component; null when the step did not finish in this run. */
export async function stepSummary<S extends z.ZodType>(
  storage: Storage,
  run: string,
  step: string,
  component: Component<S>,
): Promise<z.output<S> | null> {
  const doc = await readOutputDoc(storage, run, step);
  return doc ? summaryOf(component, doc) : null;
}
