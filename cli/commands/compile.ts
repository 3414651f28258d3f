import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/load.js";
import { churnConfigSchema } from "../../components/common/config/schema.js";
import { UsageError } from "../../components/common/errors.js";
import {
  ARGO_FORMS,
  type ArgoForm,
  COMPILABLE,
  COMPILE_TARGETS,
  type CompileTarget,
  compilePipeline,
  compileSettingsOf,
  DEFAULT_SCHEDULE,
} from "../../pipelines/compile/index.js";
import { pipelineByName } from "../../pipelines/definitions/index.js";
import { type CommandContext, emit, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface CompileOptions {
  target?: string;
  form?: string;
  out?: string;
  bucket?: string;
  image?: string;
  namespace?: string;
  serviceAccount?: string;
  schedule?: string;
  timezone?: string;
}

/** churn.yaml's `kubernetes` section from --bucket, or its defaults, overridden by the flags. */
async function settingsOf(options: CompileOptions, ctx: CommandContext) {
  const kubernetes = options.bucket
    ? (await loadConfig(await openBucket(options.bucket, ctx))).kubernetes
    : churnConfigSchema.shape.kubernetes.parse(undefined);
  return compileSettingsOf(kubernetes, {
    image: options.image,
    namespace: options.namespace,
    serviceAccount: options.serviceAccount,
    schedule: options.schedule,
    timezone: options.timezone,
  });
}

function targetOf(value: string | undefined): CompileTarget {
  if (value && (COMPILE_TARGETS as readonly string[]).includes(value)) return value as CompileTarget;
  throw new UsageError(`--target must be one of ${COMPILE_TARGETS.join(", ")} (got ${value ?? "nothing"})`);
}

/** `churn pipeline compile <name> --target kfp|argo`. */
export function registerCompile(pipeline: Command, wrap: Wrap): void {
  pipeline
    .command("compile <name>")
    .description(
      `compile a pipeline (${COMPILABLE.join(", ")}) for Kubeflow Pipelines / Vertex AI Pipelines (kfp) or Argo Workflows (argo)`,
    )
    .option("--target <engine>", `the engine: ${COMPILE_TARGETS.join(" | ")}`)
    .option("--form <form>", `argo only: ${ARGO_FORMS.join(" | ")}`, "workflow")
    .option("--out <file>", "write the YAML to this file (default: stdout)")
    .option("--bucket <uri>", "read the image, namespace and service account from this bucket's churn.yaml")
    .option("--image <ref>", "the image every step runs (default: churn.yaml kubernetes.image)")
    .option("--namespace <name>", "the namespace (default: churn.yaml kubernetes.namespace)")
    .option(
      "--service-account <name>",
      "the pods' ServiceAccount (default: churn.yaml kubernetes.service_account)",
    )
    .option("--schedule <cron>", "argo --form cron: when the weekly run starts", DEFAULT_SCHEDULE)
    .option("--timezone <tz>", "argo --form cron: the schedule's time zone, e.g. Europe/Berlin")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      [
        "",
        "Every step runs `churn pipeline step` in the image: the runner's own planner, so an unchanged",
        "step is a cache hit on these engines too, and a bad-input failure is never redone by a retry.",
        "",
        "Examples:",
        "  churn pipeline compile weekly --target kfp --out weekly.yaml",
        "  churn pipeline compile weekly --target argo --form template | kubectl apply -f -",
        "  churn pipeline compile weekly --target argo --form cron --schedule '0 6 * * 1' --timezone Europe/Berlin",
        "",
      ].join("\n"),
    )
    .action(
      wrap<CompileOptions>(async (options, ctx, [name]) => {
        const target = targetOf(options.target);
        const form = (options.form ?? "workflow") as ArgoForm;
        if (target === "kfp" && options.form && options.form !== "workflow")
          throw new UsageError("--form is for --target argo (KFP has one form: the pipeline spec)");
        const yaml = compilePipeline({
          pipeline: pipelineByName(name!),
          target,
          form,
          settings: await settingsOf(options, ctx),
        });
        if (!options.out) {
          if (ctx.json) emit(ctx, { pipeline: name, target, form, yaml }, "");
          else ctx.stdout.write(yaml);
          return;
        }
        const path = resolve(ctx.cwd, options.out);
        await writeFile(path, yaml);
        emit(ctx, { pipeline: name, target, form, file: path }, `wrote ${path} (${name} for ${target})`);
      }),
    );
}
