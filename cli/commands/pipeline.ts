import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/index.js";
import { UsageError } from "../../components/common/errors.js";
import { OUTPUT_FILES } from "../../components/common/layout/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { dependenciesOf, renderMermaid, renderText, topologicalOrder } from "../../pipelines/dag.js";
import { pipelineByName } from "../../pipelines/definitions/index.js";
import { LocalProcessExecutor, type StepExecutor } from "../../pipelines/runner/executor.js";
import type { RunRecord } from "../../pipelines/runner/records.js";
import { type RunEvent, runPipeline } from "../../pipelines/runner/run.js";
import { bucketOption, type CommandContext, emit } from "../io.js";
import type { Wrap } from "./index.js";

interface ShowOptions {
  mermaid?: boolean;
}

interface RunOptions {
  bucket?: string;
  weekly?: string;
  transactions?: string;
  runner?: string;
  namespace?: string;
  inCluster?: boolean;
  force?: boolean;
  cache?: boolean;
}

/** Human progress lines on stderr (stdout stays for the result and --json). */
function progress(ctx: CommandContext): (event: RunEvent) => void {
  const out = ctx.stderr;
  return (event) => {
    if (ctx.json) return;
    if (event.type === "run") {
      out.write(
        `${event.resumed ? "resuming" : "starting"} ${event.pipeline} run ${event.runId}${event.trigger ? ` on ${event.trigger}` : ""}\n`,
      );
    } else if (event.type === "waiting") {
      out.write(
        `run ${event.runId} is held by ${event.holder}; waiting (lease expires in ${Math.ceil(event.expiresInMs / 1000)} s)\n`,
      );
    } else if (event.state === "running") {
      out.write(`  … ${event.step}${event.attempt > 1 ? ` (attempt ${event.attempt})` : ""}\n`);
    } else {
      const mark = { succeeded: "✓", cached: "✓", failed: "✗", skipped: "-", pending: " ", running: "…" }[
        event.state
      ];
      const time = event.seconds === null ? "" : ` ${event.seconds.toFixed(1)} s`;
      out.write(
        `  ${mark} ${event.step}${time}${event.state === "cached" ? " (cached)" : ""}${event.error ? `: ${event.error}` : ""}\n`,
      );
    }
  };
}

/** The closing lines of a run: where the scores are, or why it failed. */
export function describeRun(record: RunRecord, reused: boolean): string {
  const lines: string[] = [];
  const seconds = record.seconds === null ? "" : ` in ${record.seconds.toFixed(1)} s`;
  if (reused)
    lines.push(
      `run ${record.run_id} had already finished (${record.state}); nothing to do (use --force for a new attempt)`,
    );
  if (record.state === "succeeded") {
    const cached = record.steps.filter((s) => s.state === "cached").length;
    lines.push(
      `${record.pipeline} run ${record.run_id} succeeded${seconds}${cached ? ` (${cached} steps from cache)` : ""}`,
    );
    if (record.retrain?.cache_bypassed.length)
      lines.push(
        `retrained on unchanged training data because ${record.retrain.fired.join(", ")} fired (cache bypassed for ${record.retrain.cache_bypassed.join(", ")})`,
      );
    if (record.output_prefix) lines.push(`outputs: ${record.bucket}/${record.output_prefix}`);
  } else {
    lines.push(
      `${record.pipeline} run ${record.run_id} failed${seconds}: ${record.reason ?? "unknown reason"}`,
    );
    lines.push(`logs: churn runs logs ${record.run_id} --bucket ${record.bucket}`);
  }
  return lines.join("\n");
}

/** The first lines of a published scores.csv (lifetime: customers.csv), so a first run ends by showing results. */
async function scoresHead(storage: Storage, record: RunRecord, lines = 5): Promise<string> {
  if (record.state !== "succeeded" || !record.output_prefix) return "";
  const file = record.pipeline === "lifetime" ? OUTPUT_FILES.customers : OUTPUT_FILES.scores;
  const name = `${record.output_prefix}${file}`;
  if (!(await storage.stat(name))) return "";
  let text = "";
  for await (const chunk of storage.createReadStream(name)) {
    text += chunk.toString();
    if (text.split("\n").length > lines + 1) break;
  }
  const head = text.split("\n").slice(0, lines + 1);
  return `\n\n${name} (first ${lines} rows):\n${head.map((l) => `  ${l}`).join("\n")}`;
}

/** `churn pipeline show|run`. */
export function registerPipeline(program: Command, wrap: Wrap): void {
  const pipeline = program
    .command("pipeline")
    .description("show and run pipelines (weekly, retrain, lifetime)");

  pipeline
    .command("show [name]")
    .description("print a pipeline's steps and dependencies, as text or as a Mermaid flowchart")
    .option("--mermaid", "print a Mermaid flowchart instead of text")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn pipeline show weekly\n  churn pipeline show retrain --mermaid\n",
    )
    .action(
      wrap<ShowOptions>(async (options, ctx, [name]) => {
        const definition = pipelineByName(name ?? "weekly");
        const steps = topologicalOrder(definition).map((s) => ({
          name: s.name,
          component: s.component,
          description: s.description,
          needs: dependenciesOf(s),
          cached: s.cache !== false,
        }));
        emit(
          ctx,
          {
            name: definition.name,
            description: definition.description,
            steps,
            mermaid: renderMermaid(definition),
          },
          () => (options.mermaid ? renderMermaid(definition) : renderText(definition)),
        );
      }),
    );

  pipeline
    .command("run [name]")
    .description(
      "run a pipeline (default: weekly) on a bucket; re-running a finished run reports it without work",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option(
      "--weekly <object>",
      "the weekly file to score, e.g. weekly/2024-W18.csv (default: the newest upload)",
    )
    .option(
      "--transactions <object>",
      "the purchase log of the lifetime pipeline, e.g. transactions/2024.csv (default: the newest upload)",
    )
    .option("--runner <runner>", "local (child processes) or kubernetes (Jobs)", "local")
    .option(
      "--namespace <name>",
      "kubernetes runner: namespace of the step Jobs (default: the pod's own in-cluster, else churn.yaml kubernetes.namespace)",
    )
    .option("--in-cluster", "kubernetes runner: use the pod's ServiceAccount instead of a kubeconfig")
    .option(
      "--force",
      "start a new attempt even if this file was already processed (the cache still applies)",
    )
    .option("--no-cache", "recompute every step")
    .option("--json", "print the run record as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  churn pipeline run --bucket ./demo-bucket\n  churn pipeline run weekly --bucket gs://acme-churn --weekly weekly/2024-W18.csv\n  churn pipeline run retrain --bucket ./demo-bucket --no-cache\n  churn pipeline run lifetime --bucket ./demo-bucket --transactions transactions/2024.csv\n  churn pipeline run --bucket gs://acme-churn --runner kubernetes --namespace churn\n",
    )
    .action(
      wrap<RunOptions>(async (options, ctx, [name]) => {
        const definition = pipelineByName(name ?? "weekly");
        if (options.weekly && definition.name !== "weekly") {
          throw new UsageError(`--weekly applies to the weekly pipeline, not ${definition.name}`);
        }
        if (options.transactions && definition.name !== "lifetime") {
          throw new UsageError(`--transactions applies to the lifetime pipeline, not ${definition.name}`);
        }
        if (options.runner !== "local" && options.runner !== "kubernetes") {
          throw new UsageError(`--runner must be local or kubernetes, not ${options.runner}`);
        }
        if (options.runner !== "kubernetes" && (options.inCluster || options.namespace)) {
          throw new UsageError("--in-cluster and --namespace apply to --runner kubernetes only");
        }
        const bucket = bucketOption(options.bucket, ctx);
        const storage = await openStorage(bucket, ctx.cwd);
        const config = await loadConfig(storage);
        let executor: StepExecutor = new LocalProcessExecutor(storage.uri, ctx.env);
        if (options.runner === "kubernetes") {
          // Loaded only here: the Kubernetes client alone takes ~0.4 s to import, and
          // every local step process starts this CLI.
          const [{ KubernetesJobExecutor }, { inClusterNamespace, loadKubeConfig }] = await Promise.all([
            import("../../pipelines/runner/kubernetes.js"),
            import("../../pipelines/runner/kubernetes-driver.js"),
          ]);
          const inCluster = options.inCluster === true;
          executor = new KubernetesJobExecutor({
            kubeConfig: loadKubeConfig({ inCluster, env: ctx.env }),
            namespace:
              options.namespace ??
              (inCluster ? inClusterNamespace(ctx.env) : null) ??
              config.kubernetes.namespace,
            image: config.kubernetes.image,
            serviceAccount: config.kubernetes.service_account,
            bucketUri: storage.uri,
            pipeline: definition.name,
            steps: definition.steps,
            env: ctx.env,
          });
        }
        const interrupt = new AbortController();
        const onSigint = () => {
          ctx.stderr.write("interrupted: stopping steps; run the same command again to resume\n");
          interrupt.abort();
        };
        process.once("SIGINT", onSigint);
        try {
          const result = await runPipeline({
            storage,
            pipeline: definition,
            executor,
            trigger: options.weekly ?? options.transactions,
            force: options.force,
            noCache: options.cache === false,
            logger: ctx.logger,
            onEvent: progress(ctx),
            webhookUrl: config.notify.webhook_url,
            config,
            signal: interrupt.signal,
            env: ctx.env,
            // Shorter leases make crash-recovery tests fast; the default suits real runs.
            leaseTtlMs: Number(ctx.env.CHURN_LEASE_TTL_MS) || undefined,
          });
          const head = ctx.json ? "" : await scoresHead(storage, result.record);
          emit(
            ctx,
            { ...result.record, reused: result.reused },
            () => describeRun(result.record, result.reused) + head,
          );
          return result.exitCode;
        } finally {
          process.removeListener("SIGINT", onSigint);
        }
      }),
    );
}
