import { dependenciesOf, type PipelineDefinition, type StepDefinition, topologicalOrder } from "../dag.js";
import { DEFAULT_RETRIES } from "../runner/retries.js";

/**
 * The engine-neutral form of a compiled pipeline: what Kubeflow Pipelines and
 * Argo Workflows both need to run our steps, built once from a pipeline
 * definition so the two targets cannot disagree on the DAG, the fan-out, the
 * retries or the command a step runs. Each target only renders it.
 *
 * Every task runs `churn pipeline step <pipeline> <step> ...` in our image:
 * that command plans the step with the runner's own planner (inputs, cache
 * key, resume, output.json), so a step whose inputs are unchanged is a cache
 * hit on these engines too, and a step whose recorded outcome is a bad-input
 * (2) or no-model (3) failure returns that exit code at once when the engine
 * retries it (KFP retries cannot filter on exit codes).
 */

/** The run-time parameters of every compiled pipeline. */
export const PIPELINE_PARAMETERS = {
  /** The bucket URI (gs://bucket, or file:// for a volume). */
  bucket: "bucket",
  /** The run id: the same idempotent id the launcher and the local runner use. */
  runId: "run_id",
  /** The object that triggered the run (weekly/<stem>.csv, transactions/<stem>.csv); "" for retrain. */
  trigger: "trigger",
} as const;
export type PipelineParameter = (typeof PIPELINE_PARAMETERS)[keyof typeof PIPELINE_PARAMETERS];

/**
 * One argument of a task's command: literal text, a pipeline parameter, the
 * fan-out item, or where a shard planner writes its plan (each engine reads
 * it its own way: KFP an output parameter's file holding the JSON list of
 * shard indices, Argo a file holding the count for `withSequence`).
 */
export type Arg = string | { parameter: PipelineParameter } | { shardItem: true } | { shardPlan: true };

/** The flags of `churn pipeline step` that write a shard plan: the JSON list of indices, or their count. */
export const SHARD_PLAN_FLAGS = { list: "--plan-shards", count: "--plan-shard-count" } as const;

/** A fan-out: the task runs once per shard index the planning task lists. */
export interface FanOut {
  /** The task that prints the shard indices (a JSON list), run after the fanned-out input exists. */
  planTask: string;
}

export interface CompiledTask {
  /** The step name (DESIGN: the same in code, CLI, Jobs, chart and these engines). */
  name: string;
  description: string;
  dependsOn: string[];
  args: Arg[];
  /** Retries of a failed attempt (the runner's own default when the step sets none). */
  retries: number;
  timeoutSeconds?: number;
  resources?: { cpu: string; memory: string };
  fanOut?: FanOut;
  /** This task prints the shard indices of `fanOut` tasks (its output parameter). */
  plansShardsOf?: string;
}

export interface CompiledGraph {
  pipeline: PipelineDefinition["name"];
  description: string;
  /** Whether the pipeline is started by an object (weekly file, transactions file). */
  triggered: boolean;
  tasks: CompiledTask[];
}

/** The task name of the shard planner of a fanned-out step. */
export function shardPlanTask(step: string): string {
  return `${step}-shards`;
}

const STEP_ARGS = (pipeline: string, step: string): Arg[] => [
  "pipeline",
  "step",
  pipeline,
  step,
  "--bucket",
  { parameter: PIPELINE_PARAMETERS.bucket },
  "--run",
  { parameter: PIPELINE_PARAMETERS.runId },
  "--trigger",
  { parameter: PIPELINE_PARAMETERS.trigger },
];

function stepTask(pipeline: PipelineDefinition, step: StepDefinition): CompiledTask {
  const dependsOn = dependenciesOf(step);
  const base = {
    name: step.name,
    description: step.description,
    retries: step.retries ?? DEFAULT_RETRIES,
    timeoutSeconds: step.timeoutSeconds,
    resources: step.resources,
  };
  if (!step.fanOut) return { ...base, dependsOn, args: STEP_ARGS(pipeline.name, step.name) };
  return {
    ...base,
    dependsOn: [...dependsOn, shardPlanTask(step.name)],
    args: [...STEP_ARGS(pipeline.name, step.name), "--shard", { shardItem: true }],
    fanOut: { planTask: shardPlanTask(step.name) },
  };
}

/**
 * The planner task of a fan-out: it runs once the fanned-out input exists
 * and prints the shard indices the step's config asks for (`score.shards`, a
 * number or "auto" by input size), the same count the local runner uses.
 */
function shardPlanner(pipeline: PipelineDefinition, step: StepDefinition): CompiledTask {
  const input = step.inputs[step.fanOut!.input];
  const upstream = input && "step" in input ? [input.step] : [];
  return {
    name: shardPlanTask(step.name),
    description: `list the shard indices of ${step.name}`,
    dependsOn: upstream,
    args: [...STEP_ARGS(pipeline.name, step.name), { shardPlan: true }],
    retries: DEFAULT_RETRIES,
    resources: { cpu: "100m", memory: "256Mi" },
    plansShardsOf: step.name,
  };
}

/** The neutral graph of a pipeline, tasks in topological order (planner tasks just before their step). */
export function compileGraph(pipeline: PipelineDefinition): CompiledGraph {
  const tasks: CompiledTask[] = [];
  for (const step of topologicalOrder(pipeline)) {
    if (step.fanOut) tasks.push(shardPlanner(pipeline, step));
    tasks.push(stepTask(pipeline, step));
  }
  return {
    pipeline: pipeline.name,
    description: pipeline.description,
    triggered: pipeline.trigger.kind === "object",
    tasks,
  };
}
