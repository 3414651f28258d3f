import type { ComponentLoader } from "../../components/common/component/run.js";
import type { ChurnConfig } from "../../components/common/config/index.js";
import {
  ChurnError,
  ConflictError,
  type ExitCode,
  INTERRUPTED_EXIT,
  UsageError,
} from "../../components/common/errors.js";
import type { TriggerObject } from "../../components/common/layout/index.js";
import { type Logger, silentLogger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import { loadComponent } from "../../components/index.js";
import { dependenciesOf, type PipelineDefinition, topologicalOrder } from "../dag.js";
import type { Lease } from "../lease.js";
import { codeVersion } from "./code-version.js";
import type { StepExecutor } from "./executor.js";
import { finishInterrupted, finishRun } from "./finaliser.js";
import { acquireRunLease, identifyRun, outputPrefixOf, type RunIdentity } from "./identify.js";
import { isFinished, pendingStep, type RunRecord, readRunRecord } from "./records.js";
import { checkLifetimeInputs, ObjectHasher } from "./resolve.js";
import { schedule } from "./scheduler.js";
import {
  type EmitEvent,
  exitCodeFrom,
  RecordWriter,
  type RunEvent,
  type RunState,
  resumeSteps,
  stepRecordOf,
} from "./state.js";
import { runOneStep, type StepRunContext } from "./step.js";

export { bypassReasons } from "./planner.js";
export { type RunEvent, readOutputDoc } from "./state.js";

export interface RunPipelineOptions {
  storage: Storage;
  pipeline: PipelineDefinition;
  executor: StepExecutor;
  /** The weekly (or transactions) object; default: the newest upload. */
  trigger?: string;
  force?: boolean;
  noCache?: boolean;
  logger?: Logger;
  onEvent?: (event: RunEvent) => void;
  /** Webhook for publish/failure messages (churn.yaml notify.webhook_url). */
  webhookUrl?: string | null;
  leaseTtlMs?: number;
  /** How many steps may run at once (local: the cores). */
  concurrency?: number;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Where steps' components come from (their declared run-time parameters); default: components/index.ts. */
  components?: ComponentLoader;
  /** The bucket's churn.yaml, for settings the pipeline definition reads (fan-out counts); none: 1 shard. */
  config?: ChurnConfig | null;
  /**
   * Run this one step of the run and stop (`churn pipeline step`, what the
   * pipelines compiled for Kubeflow Pipelines and Argo run in each task): the
   * engine orders the steps; this runner still plans it (cache key, resume,
   * output.json) and finishes the run when its last step ends.
   */
  only?: string;
}

export interface RunResult {
  record: RunRecord;
  exitCode: ExitCode;
  /** True when the run had already finished and nothing was done. */
  reused: boolean;
}

/** A finished run, reported again without doing anything. */
function reusedResult(record: RunRecord): RunResult {
  return { record, exitCode: exitCodeFrom(record.exit_code ?? 1), reused: true };
}

/**
 * Run a pipeline to the end: one run per id at a time (lease), resuming from
 * the first unfinished step, reusing cached step results by content, running
 * independent steps in parallel, retrying exit 1, and on failure writing
 * `_FAILED` while leaving the previous output untouched. The parts: identify
 * + lease (identify.ts), planner (planner.ts), scheduler (scheduler.ts), step
 * attempts (step.ts, attempt.ts) and finaliser (finaliser.ts).
 */
export async function runPipeline(options: RunPipelineOptions): Promise<RunResult> {
  const { storage, pipeline } = options;
  const emit: EmitEvent = options.onEvent ?? (() => {});
  const identity = await identifyRun(storage, pipeline, options);
  const finished = await readRunRecord(storage, identity.runId);
  if (finished && isFinished(finished)) return reusedResult(finished);
  // A run that cannot get an input its config asks for stops here, before any step (exit 2).
  await checkLifetimeInputs(storage, pipeline);

  // A lost lease (another runner took over) aborts this one's steps, as Ctrl-C does.
  const abort = new AbortController();
  options.signal?.addEventListener("abort", () => abort.abort(), { once: true });
  const leased = await acquireRunLease(storage, identity.runId, {
    ttlMs: options.leaseTtlMs,
    onLost: () => abort.abort(),
    emit,
  });
  if (leased.kind === "finished") return reusedResult(leased.record);
  const { lease } = leased;
  lease.startHeartbeat();
  try {
    return await runLeased(options, identity, abort.signal, lease);
  } catch (error) {
    if (error instanceof ConflictError && lease.isLost) throw lostLease(identity.runId);
    throw error;
  } finally {
    await lease.release().catch(() => {});
  }
}

function lostLease(runId: string): ConflictError {
  return new ConflictError(`another runner took over run ${runId}: this one stopped`);
}

/** The run, once this runner holds its lease: open (or resume) its record, schedule its steps, finish it. */
async function runLeased(
  options: RunPipelineOptions,
  identity: RunIdentity,
  signal: AbortSignal,
  lease: Lease,
): Promise<RunResult> {
  const { storage, pipeline, executor } = options;
  const logger = options.logger ?? silentLogger;
  const emit: EmitEvent = options.onEvent ?? (() => {});
  const code = await codeVersion(options.env);
  const order = topologicalOrder(pipeline);
  const previous = await readRunRecord(storage, identity.runId);
  const record = previous ?? newRunRecord(options, identity, code);
  if (options.only) {
    const decided = onlyStepOutcome(record, options.only, pipeline);
    if (decided !== null) return { record, exitCode: decided, reused: true };
  }
  // Resuming an interrupted (or killed) attempt: it is running again, under this runner.
  record.state = "running";
  record.exit_code = null;
  record.reason = null;
  record.runner = executor.name;
  const state: RunState = { record, upstream: await resumeSteps(storage, record, order), failure: null };
  const { runId, trigger } = identity;
  emit({
    type: "run",
    runId,
    pipeline: pipeline.name,
    trigger: trigger?.name ?? null,
    resumed: previous !== null,
  });
  const writer = new RecordWriter(storage, record);
  await writer.persist();

  const startedMs = Date.now();
  const context = stepRunContext(options, { identity, code, signal, writer, logger, emit });
  const stateOf = (name: string) => stepRecordOf(record, name).state;
  const only = options.only;
  await schedule({
    order,
    dependenciesOf,
    isPending: (name) => stateOf(name) === "pending" && (only === undefined || name === only),
    isDone: (name) => stateOf(name) === "succeeded" || stateOf(name) === "cached",
    shouldStop: () => state.failure !== null || signal.aborted,
    concurrency: options.concurrency ?? 2,
    run: (step) => runOneStep(step, context, state),
  });

  if (signal.aborted) {
    // Another runner took the lease over: the record is now its to write.
    if (lease.isLost) throw lostLease(runId);
    await finishInterrupted(record, writer);
    return { record, exitCode: INTERRUPTED_EXIT, reused: false };
  }
  // One step of an engine's run: the run finishes with its last step (or a failure).
  if (only && state.failure === null && record.steps.some((s) => s.state === "pending")) {
    await writer.persist();
    return { record, exitCode: 0, reused: false };
  }
  await finishRun(state, {
    storage,
    writer,
    startedMs,
    logger,
    env: options.env,
    webhookUrl: options.webhookUrl,
  });
  return { record, exitCode: exitCodeFrom(record.exit_code), reused: false };
}

/** What every step of this run is run with: the store, the executor, the record writer, and the planner's inputs. */
function stepRunContext(
  options: RunPipelineOptions,
  run: {
    identity: RunIdentity;
    code: string;
    signal: AbortSignal;
    writer: RecordWriter;
    logger: Logger;
    emit: EmitEvent;
  },
): StepRunContext {
  const { storage, executor } = options;
  return {
    storage,
    executor,
    runId: run.identity.runId,
    config: options.config ?? null,
    logger: run.logger,
    emit: run.emit,
    signal: run.signal,
    writer: run.writer,
    plan: {
      storage,
      hasher: new ObjectHasher(storage),
      trigger: run.identity.trigger?.name ?? null,
      code: run.code,
      noCache: options.noCache ?? false,
      components: options.components ?? loadComponent,
    },
  };
}

/**
 * What `only` mode answers without running: 0 for a step already done (an
 * engine's retry of a step that finished), the recorded 2 or 3 of a step that
 * failed on bad input or without a model (KFP cannot filter its retries by
 * exit code: a retry must not redo it), 1 when the engine started the step
 * before its upstream finished. A step that failed with 1 runs again.
 */
function onlyStepOutcome(record: RunRecord, step: string, pipeline: PipelineDefinition): ExitCode | null {
  const definition = pipeline.steps.find((s) => s.name === step);
  if (!definition)
    throw new UsageError(
      `pipeline ${pipeline.name} has no step "${step}" (steps: ${pipeline.steps.map((s) => s.name).join(", ")})`,
    );
  const own = stepRecordOf(record, step);
  if (own.state === "succeeded" || own.state === "cached") return 0;
  if (own.state === "failed") {
    const code = exitCodeFrom(own.exit_code ?? 1);
    if (code !== 1) return code;
    own.state = "pending";
  }
  const waiting = dependenciesOf(definition).filter((d) => {
    const state = stepRecordOf(record, d).state;
    return state !== "succeeded" && state !== "cached";
  });
  if (waiting.length > 0)
    throw new ChurnError(
      `step ${step} of run ${record.run_id} started before ${waiting.join(", ")} finished`,
    );
  return null;
}

/** The record of a new run: every step pending. */
function newRunRecord(options: RunPipelineOptions, identity: RunIdentity, code: string): RunRecord {
  const trigger: TriggerObject | null = identity.trigger;
  return {
    version: 1,
    run_id: identity.runId,
    pipeline: options.pipeline.name,
    bucket: options.storage.uri,
    runner: options.executor.name,
    trigger: trigger ? { object: trigger.name, generation: trigger.generation } : null,
    attempt: identity.attempt,
    state: "running",
    exit_code: null,
    reason: null,
    started: new Date().toISOString(),
    finished: null,
    seconds: null,
    code_version: code,
    output_prefix: outputPrefixOf(options.pipeline, trigger),
    steps: topologicalOrder(options.pipeline).map(pendingStep),
  };
}
