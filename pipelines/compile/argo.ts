import { DEFAULT_TIMEOUT_SECONDS } from "../runner/attempt.js";
import { IMAGE_ENTRYPOINT } from "../runner/executor.js";
import { LABELS } from "../runner/kubernetes/names.js";
import {
  type Arg,
  type CompiledGraph,
  type CompiledTask,
  PIPELINE_PARAMETERS,
  type PipelineParameter,
  SHARD_PLAN_FLAGS,
} from "./graph.js";
import { type CompileSettings, containerSecurity, podSecurity } from "./settings.js";

/**
 * Argo Workflows forms of a compiled pipeline: a `Workflow` (what the
 * weekly-upload function's `argo` launcher creates, named after the run id
 * so duplicate events give one run), a `WorkflowTemplate` with the same spec,
 * and a `CronWorkflow` that runs the template on a schedule. The DAG, the
 * fan-out (`withSequence` over the count the planner task writes), retries
 * limited to exit code 1 (2 = bad input and 3 = no model are never retried),
 * per-step deadlines, and the pod security of our own Jobs.
 */

type Json = Record<string, unknown>;

export type ArgoForm = "workflow" | "template" | "cron";
export const ARGO_FORMS: readonly ArgoForm[] = ["workflow", "template", "cron"];

const API_VERSION = "argoproj.io/v1alpha1";
/** Where the planner writes the shard count (read back as an output parameter). */
const SHARD_COUNT_PATH = "/tmp/churn-shard-count";
const SHARD_COUNT_OUTPUT = "shard-count";
const SHARD_INPUT = "shard";
/** A whole run's deadline: the weekly run takes minutes; six hours means something is stuck. */
const WORKFLOW_DEADLINE_SECONDS = 6 * 3600;

/** The name of a pipeline's WorkflowTemplate (and the prefix of its Workflows). */
export function argoTemplateName(pipeline: string): string {
  return `churn-${pipeline}`;
}

function renderArg(arg: Arg): string[] {
  if (typeof arg === "string") return [arg];
  if ("parameter" in arg) return [`{{inputs.parameters.${arg.parameter}}}`];
  if ("shardItem" in arg) return [`{{inputs.parameters.${SHARD_INPUT}}}`];
  return [SHARD_PLAN_FLAGS.count, SHARD_COUNT_PATH];
}

const RUN_PARAMETERS: PipelineParameter[] = [
  PIPELINE_PARAMETERS.bucket,
  PIPELINE_PARAMETERS.runId,
  PIPELINE_PARAMETERS.trigger,
];

function containerTemplate(task: CompiledTask, settings: CompileSettings): Json {
  const parameters: Array<{ name: string }> = RUN_PARAMETERS.map((name) => ({ name }));
  if (task.fanOut) parameters.push({ name: SHARD_INPUT });
  const limits = task.resources ? { cpu: task.resources.cpu, memory: task.resources.memory } : undefined;
  return {
    name: task.name,
    inputs: { parameters },
    ...(task.plansShardsOf
      ? { outputs: { parameters: [{ name: SHARD_COUNT_OUTPUT, valueFrom: { path: SHARD_COUNT_PATH } }] } }
      : {}),
    // A step without its own timeout gets the runner's default.
    activeDeadlineSeconds: task.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    ...(task.retries > 0
      ? {
          retryStrategy: {
            limit: String(task.retries),
            retryPolicy: "Always",
            // Only a transient failure is worth another attempt.
            expression: "asInt(lastRetry.exitCode) == 1",
            backoff: { duration: "10s", factor: "2", maxDuration: "10m" },
          },
        }
      : {}),
    container: {
      image: settings.image,
      command: [...IMAGE_ENTRYPOINT],
      // The workflow's creation time pins what `trigger: latest` (the CronWorkflow's) means for every step.
      args: [...task.args.flatMap(renderArg), "--as-of", "{{workflow.creationTimestamp}}"],
      ...(limits ? { resources: { requests: limits, limits } } : {}),
      securityContext: containerSecurity(),
      volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    },
  };
}

function dagTask(task: CompiledTask, graph: CompiledGraph): Json {
  const parameters: Json[] = RUN_PARAMETERS.map((name) => ({
    name,
    value: `{{workflow.parameters.${name}}}`,
  }));
  if (task.fanOut) parameters.push({ name: SHARD_INPUT, value: "{{item}}" });
  const known = new Set(graph.tasks.map((t) => t.name));
  return {
    name: task.name,
    template: task.name,
    ...(task.dependsOn.length ? { dependencies: task.dependsOn.filter((d) => known.has(d)) } : {}),
    arguments: { parameters },
    ...(task.fanOut
      ? {
          withSequence: {
            count: `{{tasks.${task.fanOut.planTask}.outputs.parameters.${SHARD_COUNT_OUTPUT}}}`,
          },
        }
      : {}),
  };
}

/** The Workflow spec shared by every form. */
export function workflowSpec(graph: CompiledGraph, settings: CompileSettings): Json {
  const entry = graph.pipeline;
  return {
    entrypoint: entry,
    serviceAccountName: settings.serviceAccount,
    activeDeadlineSeconds: WORKFLOW_DEADLINE_SECONDS,
    securityContext: podSecurity(),
    arguments: {
      parameters: [
        { name: PIPELINE_PARAMETERS.bucket, description: "bucket URI: gs://bucket" },
        { name: PIPELINE_PARAMETERS.runId, description: "run id (r-<16 hex>): one run per trigger" },
        graph.triggered
          ? {
              name: PIPELINE_PARAMETERS.trigger,
              description: "the object that triggered the run, e.g. weekly/2026-W49.csv",
            }
          : { name: PIPELINE_PARAMETERS.trigger, value: "", description: "unused: retrain has no trigger" },
      ],
    },
    // The root filesystem is read-only: scratch space is an emptyDir, as in our Jobs.
    volumes: [{ name: "tmp", emptyDir: {} }],
    podGC: { strategy: "OnWorkflowSuccess" },
    templates: [
      { name: entry, dag: { tasks: graph.tasks.map((t) => dagTask(t, graph)) } },
      ...graph.tasks.map((t) => containerTemplate(t, settings)),
    ],
  };
}

/** The labels of our Jobs (one rule: the runner's names), plus the run id on a launched Workflow. */
const labels = (graph: CompiledGraph, runId?: string) => ({
  "app.kubernetes.io/name": "churn",
  [LABELS.pipeline]: graph.pipeline,
  ...(runId ? { [LABELS.runId]: runId } : {}),
});

/**
 * The Argo document of a form. A `workflow` is named after `runId` when one
 * is given (the launcher's idempotent name: a second create is a conflict,
 * not a second run), else generated from the pipeline name.
 */
export function argoDocument(
  graph: CompiledGraph,
  settings: CompileSettings,
  form: ArgoForm,
  run?: { runId: string; bucket: string; trigger: string },
): Json {
  const name = argoTemplateName(graph.pipeline);
  if (form === "template") {
    return {
      apiVersion: API_VERSION,
      kind: "WorkflowTemplate",
      metadata: { name, namespace: settings.namespace, labels: labels(graph) },
      spec: workflowSpec(graph, settings),
    };
  }
  if (form === "cron") {
    return {
      apiVersion: API_VERSION,
      kind: "CronWorkflow",
      metadata: { name, namespace: settings.namespace, labels: labels(graph) },
      spec: {
        schedules: [settings.schedule],
        ...(settings.timezone ? { timezone: settings.timezone } : {}),
        // A week that is still running when the next one is due finishes first.
        concurrencyPolicy: "Forbid",
        startingDeadlineSeconds: 3600,
        workflowSpec: {
          workflowTemplateRef: { name },
          arguments: {
            parameters: [
              { name: PIPELINE_PARAMETERS.bucket, value: "gs://CHANGE-ME" },
              // `latest` and `auto`: the step command takes the newest weekly file and its run id.
              { name: PIPELINE_PARAMETERS.runId, value: "auto" },
              { name: PIPELINE_PARAMETERS.trigger, value: graph.triggered ? "latest" : "" },
            ],
          },
        },
      },
    };
  }
  const spec = workflowSpec(graph, settings);
  if (run) {
    spec.arguments = {
      parameters: [
        { name: PIPELINE_PARAMETERS.bucket, value: run.bucket },
        { name: PIPELINE_PARAMETERS.runId, value: run.runId },
        { name: PIPELINE_PARAMETERS.trigger, value: run.trigger },
      ],
    };
  }
  return {
    apiVersion: API_VERSION,
    kind: "Workflow",
    metadata: {
      ...(run ? { name: run.runId } : { generateName: `${name}-` }),
      namespace: settings.namespace,
      labels: labels(graph, run?.runId),
    },
    spec,
  };
}
