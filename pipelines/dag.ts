import type { ChurnConfig } from "../components/common/config/index.js";
import { UsageError } from "../components/common/errors.js";

/**
 * A pipeline is a typed DAG of steps. Each step runs one component (the same
 * `churn component <name>` entry locally and in a Job) and declares where each
 * of its inputs comes from: another step's output, or objects in the bucket.
 * Step names are the same in code, CLI, Jobs and chart (DESIGN).
 */
export type InputSource =
  /**
   * An output of an upstream step, e.g. `{ step: "ingest-history", output: "rows" }`.
   * `optional`: the port is left empty when the upstream step wrote no such output.
   */
  | { step: string; output: string; optional?: boolean }
  /** A bucket object given at run time (the weekly file, the transactions file). */
  | { trigger: true }
  /**
   * Every object under a prefix, e.g. all of `input/` (content-hashed together).
   * `withStemIn`: only objects whose stem (the name after the prefix, up to the
   * first `/` or `.`) also names an object under that other prefix, e.g. the
   * weekly files that have labels, so unlabelled weeks are never read or hashed.
   */
  | { prefix: string; pattern?: string; optional?: boolean; withStemIn?: string }
  /** One named bucket object, e.g. `churn.yaml` (content-hashed like any input). */
  | { object: string; optional?: boolean }
  /** The current champion bundle (resolved at the time the step starts; absent when there is none). */
  | { champion: true; unlessSameAs?: string }
  /**
   * The dataset schema recorded in the current champion bundle at training
   * time (DESIGN: weekly files are read with it, never re-inferred), as the
   * schema.json an ingest step reads. No champion: the step fails with exit 3
   * (no model to score with) before it reads a byte of the weekly file.
   */
  | { championSchema: true }
  /**
   * customers.csv of the bucket's latest complete lifetime output
   * (components/common/documents/lifetime-output.ts), as it is when the step
   * starts, identified by the sha256 its `_SUCCESS` manifest recorded: a newer
   * lifetime publish changes the step's cache key. Only when `when` holds for
   * the churn.yaml the step reads (its `config` input), so other configs keep
   * their keys; then a bucket without a lifetime output fails the run before
   * it starts (exit 2), the message naming `because` and the command to run.
   */
  | { lifetimeOutput: "customers"; when: (config: ChurnConfig) => boolean; because: string };

export interface StepDefinition {
  name: string;
  component: string;
  /** Short human description for `churn pipeline show`. */
  description: string;
  inputs: Record<string, InputSource>;
  /** Static parameters; run-time ones (config, trigger) are added by the runner. */
  parameters?: Record<string, unknown>;
  /** Steps whose outputs this step reads but that are not inputs (ordering only). */
  after?: string[];
  /** Steps that write the bucket's public outputs are never cached. */
  cache?: boolean;
  /**
   * Run this step even when its cache holds a result, if the named upstream
   * step (an ordering dependency) asked for it: its output.json summary has a
   * non-empty `bypass_cache` list of reasons (read by `bypassReasons` in runner/run.ts). Used by the
   * retraining triggers to force train/evaluate when the training data is unchanged.
   */
  cacheBypass?: { step: string };
  /**
   * The step runs as several shards over one input's record batches (see
   * runner/fan-out.ts): `shards` reads the count from the run's churn.yaml, a
   * number or "auto" (one shard per SHARD_BYTES of `input`).
   */
  fanOut?: { input: string; shards: (config: ChurnConfig) => number | "auto" };
  /** Per-step limits, also used for Kubernetes resources. */
  timeoutSeconds?: number;
  retries?: number;
  resources?: { cpu: string; memory: string };
}

export interface PipelineDefinition {
  name: "weekly" | "retrain" | "lifetime" | "score";
  description: string;
  /** What starts a run: a weekly file, a transactions file, or the training data itself. */
  trigger: { kind: "object"; prefix: string } | { kind: "training-data" };
  /** Where a run publishes, from its trigger's stem (output/<stem>/ or output/lifetime/<stem>/); none: nothing public. */
  output?: (stem: string) => string;
  steps: StepDefinition[];
}

/** Upstream step names of a step (from inputs and `after`). */
export function dependenciesOf(step: StepDefinition): string[] {
  const deps = new Set<string>(step.after ?? []);
  if (step.cacheBypass) deps.add(step.cacheBypass.step);
  for (const source of Object.values(step.inputs)) if ("step" in source) deps.add(source.step);
  return [...deps];
}

/**
 * Steps in a deterministic topological order (definition order among ready
 * steps). Throws on unknown dependencies and cycles, naming them.
 */
export function topologicalOrder(pipeline: PipelineDefinition): StepDefinition[] {
  const byName = new Map(pipeline.steps.map((s) => [s.name, s]));
  for (const step of pipeline.steps) {
    for (const dep of dependenciesOf(step)) {
      if (!byName.has(dep))
        throw new UsageError(`pipeline ${pipeline.name}: step ${step.name} needs unknown step ${dep}`);
    }
  }
  const done = new Set<string>();
  const order: StepDefinition[] = [];
  while (order.length < pipeline.steps.length) {
    const ready = pipeline.steps.filter(
      (s) => !done.has(s.name) && dependenciesOf(s).every((d) => done.has(d)),
    );
    if (ready.length === 0) {
      const stuck = pipeline.steps.filter((s) => !done.has(s.name)).map((s) => s.name);
      throw new UsageError(`pipeline ${pipeline.name} has a cycle among: ${stuck.join(", ")}`);
    }
    for (const step of ready) {
      done.add(step.name);
      order.push(step);
    }
  }
  return order;
}

/** Plain-text rendering: one line per step with its dependencies. */
export function renderText(pipeline: PipelineDefinition): string {
  const lines = [`pipeline ${pipeline.name}: ${pipeline.description}`];
  for (const step of topologicalOrder(pipeline)) {
    const deps = dependenciesOf(step);
    lines.push(
      `  ${step.name.padEnd(20)} ${`[${step.component}]`.padEnd(15)} ${deps.length ? `after ${deps.join(", ")}` : "(start)"}`,
    );
    lines.push(`  ${"".padEnd(20)} ${step.description}`);
  }
  return lines.join("\n");
}

/** Mermaid flowchart rendering (paste into any Markdown viewer that draws Mermaid). */
export function renderMermaid(pipeline: PipelineDefinition): string {
  const id = (name: string) => name.replaceAll("-", "_");
  const lines = ["flowchart TD"];
  for (const step of topologicalOrder(pipeline)) {
    lines.push(`  ${id(step.name)}["${step.name}<br/><small>${step.component}</small>"]`);
  }
  for (const step of pipeline.steps) {
    for (const dep of dependenciesOf(step)) lines.push(`  ${id(dep)} --> ${id(step.name)}`);
  }
  return lines.join("\n");
}
