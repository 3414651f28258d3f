import type { PipelineDefinition } from "../dag.js";

/**
 * A value a command may give one run, declared by the pipeline that takes
 * it: it sets one step's parameter (e.g. `churn score --via-server` sets the
 * score step's `server_url`). The result is an ordinary pipeline whose step
 * carries the value as a static parameter, so the runner, the executors and
 * the cache key see it like any other parameter, and nothing switches on a
 * step's name.
 */
export interface ParameterOverride {
  step: string;
  parameter: string;
  description: string;
}

/** A pipeline with the overrides it accepts, by the name commands use. */
export type PipelineWithOverrides<K extends string> = PipelineDefinition & {
  overrides: Readonly<Record<K, ParameterOverride>>;
};

/**
 * The pipeline with the given overrides applied (undefined and null leave a
 * step as declared). An override naming a step the pipeline lacks is a bug
 * in its declaration, reported by name.
 */
export function withOverrides<K extends string>(
  pipeline: PipelineWithOverrides<K>,
  values: Partial<Record<K, unknown>>,
): PipelineDefinition {
  const byStep = new Map<string, Record<string, unknown>>();
  for (const [key, override] of Object.entries<ParameterOverride>(pipeline.overrides)) {
    if (!pipeline.steps.some((s) => s.name === override.step))
      throw new Error(`pipeline ${pipeline.name}: override ${key} names unknown step ${override.step}`);
    const value = values[key as K];
    if (value === undefined || value === null) continue;
    byStep.set(override.step, { ...byStep.get(override.step), [override.parameter]: value });
  }
  return {
    ...pipeline,
    steps: pipeline.steps.map((step) => {
      const set = byStep.get(step.name);
      return set ? { ...step, parameters: { ...step.parameters, ...set } } : step;
    }),
  };
}
