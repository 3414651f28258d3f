import { IMAGE_ENTRYPOINT } from "../runner/executor.js";
import {
  type Arg,
  type CompiledGraph,
  type CompiledTask,
  PIPELINE_PARAMETERS,
  SHARD_PLAN_FLAGS,
} from "./graph.js";
import { type CompileSettings, podSecurity } from "./settings.js";

/**
 * A Kubeflow Pipelines v2 pipeline spec (the IR YAML `kfp` compiles to, which
 * KFP 2.x and Vertex AI Pipelines accept): one container component per task,
 * the fan-out as a ParallelFor (`parameterIterator`) over the shard indices
 * its planner task outputs, and retries. The second document is the
 * Kubernetes platform spec (kfp-kubernetes): per-executor deadlines and the
 * pod's security context. The service account is not part of a KFP pipeline
 * spec: it is a run setting (`service_account` of a KFP run, of a Vertex
 * PipelineJob), which the kfp launcher sets from churn.yaml.
 */

type Json = Record<string, unknown>;

/** The output parameter a shard planner writes (the JSON list of shard indices). */
const SHARDS_OUTPUT = "shards";
/** The input parameter a fanned-out task gets its shard index in. */
const SHARD_INPUT = "shard";

const componentName = (task: string) => `comp-${task}`;
const executorName = (task: string) => `exec-${task}`;
/** The ParallelFor around a fanned-out task. */
const loopName = (task: string) => `for-each-shard-${task}`;
const channel = (name: string) => `pipelinechannel--${name}`;
const plannerChannel = (planner: string) => channel(`${planner}-${SHARDS_OUTPUT}`);
const loopItem = (planner: string) => `${plannerChannel(planner)}-loop-item`;

function placeholders(arg: Arg): string[] {
  if (typeof arg === "string") return [arg];
  if ("parameter" in arg) return [`{{$.inputs.parameters['${arg.parameter}']}}`];
  if ("shardItem" in arg) return [`{{$.inputs.parameters['${SHARD_INPUT}']}}`];
  return [SHARD_PLAN_FLAGS.list, `{{$.outputs.parameters['${SHARDS_OUTPUT}'].output_file}}`];
}

const STRING = { parameterType: "STRING" };
/** The trigger is empty for pipelines started by the training data (retrain). */
const pipelineInputs = (graph: CompiledGraph): Json => ({
  parameters: {
    [PIPELINE_PARAMETERS.bucket]: { ...STRING, description: "bucket URI: gs://bucket" },
    [PIPELINE_PARAMETERS.runId]: {
      ...STRING,
      description: "run id (r-<16 hex>): the launcher's idempotent id; one run per trigger",
    },
    [PIPELINE_PARAMETERS.trigger]: graph.triggered
      ? { ...STRING, description: "the object that triggered the run, e.g. weekly/2026-W49.csv" }
      : { ...STRING, defaultValue: "", isOptional: true, description: "unused: retrain has no trigger" },
  },
});

function component(task: CompiledTask): Json {
  const parameters: Json = {
    [PIPELINE_PARAMETERS.bucket]: STRING,
    [PIPELINE_PARAMETERS.runId]: STRING,
    [PIPELINE_PARAMETERS.trigger]: STRING,
  };
  if (task.fanOut) parameters[SHARD_INPUT] = { parameterType: "NUMBER_INTEGER" };
  return {
    executorLabel: executorName(task.name),
    inputDefinitions: { parameters },
    ...(task.plansShardsOf
      ? { outputDefinitions: { parameters: { [SHARDS_OUTPUT]: { parameterType: "LIST" } } } }
      : {}),
  };
}

function executor(task: CompiledTask, settings: CompileSettings): Json {
  const resources = task.resources
    ? { resourceCpuLimit: task.resources.cpu, resourceMemoryLimit: task.resources.memory }
    : undefined;
  return {
    container: {
      image: settings.image,
      // KFP replaces an entrypoint only through `command`: the image's own, so every step runs the CLI.
      command: [...IMAGE_ENTRYPOINT],
      args: task.args.flatMap(placeholders),
      ...(resources ? { resources } : {}),
    },
  };
}

/** Retries of exit 1 and of everything else alike (KFP cannot filter): see graph.ts. */
function retryPolicy(task: CompiledTask): Json | undefined {
  if (task.retries === 0) return undefined;
  return {
    maxRetryCount: task.retries,
    backoffDuration: "10s",
    backoffFactor: 2,
    backoffMaxDuration: "600s",
  };
}

/** The parameters every task passes through from the pipeline (or the enclosing loop). */
function passThrough(fromLoop: boolean): Json {
  const source = (name: string) => ({ componentInputParameter: fromLoop ? channel(name) : name });
  return {
    [PIPELINE_PARAMETERS.bucket]: source(PIPELINE_PARAMETERS.bucket),
    [PIPELINE_PARAMETERS.runId]: source(PIPELINE_PARAMETERS.runId),
    [PIPELINE_PARAMETERS.trigger]: source(PIPELINE_PARAMETERS.trigger),
  };
}

function dagTask(task: CompiledTask, dependsOn: string[], fromLoop: boolean, extra: Json = {}): Json {
  const retry = retryPolicy(task);
  return {
    taskInfo: { name: task.name },
    componentRef: { name: componentName(task.name) },
    ...(dependsOn.length ? { dependentTasks: dependsOn } : {}),
    inputs: { parameters: { ...passThrough(fromLoop), ...extra } },
    // Our planner decides what is reused (content-addressed cache): KFP's own cache would skip steps on its key.
    cachingOptions: { enableCache: false },
    ...(retry ? { retryPolicy: retry } : {}),
  };
}

/** The ParallelFor's own component: a DAG of the one fanned-out task. */
function loopComponent(task: CompiledTask): Json {
  const planner = task.fanOut!.planTask;
  return {
    dag: {
      tasks: {
        [task.name]: dagTask(task, [], true, {
          [SHARD_INPUT]: { componentInputParameter: loopItem(planner) },
        }),
      },
    },
    inputDefinitions: {
      parameters: {
        [channel(PIPELINE_PARAMETERS.bucket)]: STRING,
        [channel(PIPELINE_PARAMETERS.runId)]: STRING,
        [channel(PIPELINE_PARAMETERS.trigger)]: STRING,
        [plannerChannel(planner)]: { parameterType: "LIST" },
        [loopItem(planner)]: { parameterType: "NUMBER_INTEGER" },
      },
    },
  };
}

function loopTask(task: CompiledTask, dependsOn: string[]): Json {
  const planner = task.fanOut!.planTask;
  return {
    taskInfo: { name: loopName(task.name) },
    componentRef: { name: componentName(loopName(task.name)) },
    dependentTasks: dependsOn,
    inputs: {
      parameters: {
        [channel(PIPELINE_PARAMETERS.bucket)]: { componentInputParameter: PIPELINE_PARAMETERS.bucket },
        [channel(PIPELINE_PARAMETERS.runId)]: { componentInputParameter: PIPELINE_PARAMETERS.runId },
        [channel(PIPELINE_PARAMETERS.trigger)]: { componentInputParameter: PIPELINE_PARAMETERS.trigger },
        [plannerChannel(planner)]: {
          taskOutputParameter: { producerTask: planner, outputParameterKey: SHARDS_OUTPUT },
        },
      },
    },
    parameterIterator: {
      itemInput: loopItem(planner),
      items: { inputParameter: plannerChannel(planner) },
    },
  };
}

/** The pipeline spec and its Kubernetes platform spec, as two YAML documents' objects. */
export function kfpDocuments(graph: CompiledGraph, settings: CompileSettings): [Json, Json] {
  // A task after a fanned-out one waits for its whole loop.
  const inRoot = (name: string) => {
    const task = graph.tasks.find((t) => t.name === name);
    return task?.fanOut ? loopName(name) : name;
  };
  const components: Json = {};
  const executors: Json = {};
  const platformExecutors: Json = {};
  const rootTasks: Json = {};
  const security = podSecurity();
  for (const task of graph.tasks) {
    components[componentName(task.name)] = component(task);
    executors[executorName(task.name)] = executor(task, settings);
    platformExecutors[executorName(task.name)] = {
      ...(task.timeoutSeconds ? { activeDeadlineSeconds: String(task.timeoutSeconds) } : {}),
      securityContext: {
        runAsUser: String(security.runAsUser),
        runAsGroup: String(security.runAsGroup),
        runAsNonRoot: true,
      },
    };
    const dependsOn = task.dependsOn.map(inRoot);
    if (task.fanOut) {
      components[componentName(loopName(task.name))] = loopComponent(task);
      rootTasks[loopName(task.name)] = loopTask(task, dependsOn);
    } else {
      rootTasks[task.name] = dagTask(task, dependsOn, false);
    }
  }
  const spec: Json = {
    pipelineInfo: { name: `churn-${graph.pipeline}`, description: graph.description },
    components,
    deploymentSpec: { executors },
    root: { dag: { tasks: rootTasks }, inputDefinitions: pipelineInputs(graph) },
    schemaVersion: "2.1.0",
    sdkVersion: `churn-${settings.version}`,
  };
  const platform: Json = { platforms: { kubernetes: { deploymentSpec: { executors: platformExecutors } } } };
  return [spec, platform];
}
