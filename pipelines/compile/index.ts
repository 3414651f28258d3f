import { stringify } from "yaml";
import { UsageError } from "../../components/common/errors.js";
import type { PipelineDefinition } from "../dag.js";
import { ARGO_FORMS, type ArgoForm, argoDocument } from "./argo.js";
import { compileGraph } from "./graph.js";
import { kfpDocuments } from "./kfp.js";
import type { CompileSettings } from "./settings.js";

export { ARGO_FORMS, type ArgoForm, argoDocument, argoTemplateName } from "./argo.js";
export { compileGraph, PIPELINE_PARAMETERS, SHARD_PLAN_FLAGS, shardPlanTask } from "./graph.js";
export { kfpDocuments } from "./kfp.js";
export { type CompileSettings, compileSettingsOf, DEFAULT_SCHEDULE } from "./settings.js";

/** The engines `churn pipeline compile` writes for. */
export const COMPILE_TARGETS = ["kfp", "argo"] as const;
export type CompileTarget = (typeof COMPILE_TARGETS)[number];

/** The pipelines that can be compiled (score is `churn score`'s, run by the weekly pipeline's steps). */
export const COMPILABLE = ["weekly", "retrain", "lifetime"] as const;

export interface CompileRequest {
  pipeline: PipelineDefinition;
  target: CompileTarget;
  /** Argo only: which document (default workflow). */
  form?: ArgoForm;
  settings: CompileSettings;
}

/** The compiled YAML: KFP's pipeline spec and platform spec as two documents, or one Argo document. */
export function compilePipeline(request: CompileRequest): string {
  const { pipeline, target, settings } = request;
  if (!(COMPILABLE as readonly string[]).includes(pipeline.name))
    throw new UsageError(
      `pipeline ${pipeline.name} cannot be compiled (compile one of: ${COMPILABLE.join(", ")})`,
    );
  const graph = compileGraph(pipeline);
  const header = `# churn ${settings.version}: pipeline ${pipeline.name} compiled for ${target === "kfp" ? "Kubeflow Pipelines v2 / Vertex AI Pipelines" : "Argo Workflows"}\n`;
  if (target === "kfp") {
    const [spec, platform] = kfpDocuments(graph, settings);
    return `${header}${stringify(spec, { lineWidth: 0 })}---\n${stringify(platform, { lineWidth: 0 })}`;
  }
  const form = request.form ?? "workflow";
  if (!ARGO_FORMS.includes(form))
    throw new UsageError(`unknown Argo form "${form}" (known: ${ARGO_FORMS.join(", ")})`);
  return `${header}${stringify(argoDocument(graph, settings, form), { lineWidth: 0 })}`;
}
