import { UsageError } from "../../components/common/errors.js";
import type { PipelineDefinition } from "../dag.js";
import { lifetimePipeline } from "./lifetime.js";
import { scorePipeline } from "./score.js";
import { retrainPipeline, weeklyPipeline } from "./weekly.js";

/** Every pipeline by name. */
export const PIPELINES: Record<string, PipelineDefinition> = {
  weekly: weeklyPipeline,
  retrain: retrainPipeline,
  lifetime: lifetimePipeline,
  score: scorePipeline,
};

/** Look a pipeline up by name; unknown names are a usage error listing the known ones. */
export function pipelineByName(name: string): PipelineDefinition {
  const pipeline = PIPELINES[name];
  if (!pipeline)
    throw new UsageError(`no pipeline named "${name}" (known: ${Object.keys(PIPELINES).join(", ")})`);
  return pipeline;
}
