import { WEEKLY_PREFIX, weekOutputPrefix } from "../../components/common/layout/index.js";
import type { PipelineWithOverrides } from "./overrides.js";
import { scoringSteps } from "./weekly.js";

/**
 * `churn score`: the weekly pipeline's scoring steps alone, with the champion
 * as it is (no training, no promotion), publishing the week's folder exactly
 * as the weekly run does. The weekly file is read with the schema recorded in
 * the champion bundle; without a champion the run exits 3.
 */
export const scorePipeline: PipelineWithOverrides<"server_url"> = {
  name: "score",
  description: "score weekly/<stem>.csv with the current champion into output/<stem>/ (no training)",
  trigger: { kind: "object", prefix: WEEKLY_PREFIX },
  output: weekOutputPrefix,
  steps: scoringSteps,
  overrides: {
    server_url: {
      step: "score",
      parameter: "server_url",
      description: "score through the model server (Open Inference Protocol V2) at this URL",
    },
  },
};
