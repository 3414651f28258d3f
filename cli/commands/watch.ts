import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/index.js";
import { UsageError } from "../../components/common/errors.js";
import { pipelineByName } from "../../pipelines/definitions/index.js";
import { LocalProcessExecutor } from "../../pipelines/runner/executor.js";
import { watch } from "../../pipelines/watch.js";
import { emit, jsonDocument, openBucket } from "../io.js";
import type { Wrap } from "./index.js";
import { describeRun } from "./pipeline.js";

interface WatchCliOptions {
  bucket?: string;
  interval?: string;
  once?: boolean;
  pipeline?: string;
}

/** `churn watch`: the local stand-in for the cloud trigger. */
export function registerWatch(program: Command, wrap: Wrap): void {
  program
    .command("watch")
    .description(
      "poll weekly/ and start one pipeline run per new upload (the local stand-in for the cloud trigger)",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--interval <seconds>", "seconds between polls", "10")
    .option("--pipeline <name>", "weekly, or lifetime to watch transactions/", "weekly")
    .option("--once", "poll once, run what is new, and exit with the worst exit code")
    .option("--json", "print one JSON line per finished run")
    .addHelpText(
      "after",
      "\nExamples:\n  churn watch --bucket ./demo-bucket\n  churn watch --bucket gs://acme-churn --interval 60\n  churn watch --bucket ./demo-bucket --once\n",
    )
    .action(
      wrap<WatchCliOptions>(async (options, ctx) => {
        const interval = Number(options.interval);
        if (!Number.isFinite(interval) || interval <= 0) {
          throw new UsageError(`--interval must be a positive number of seconds, got "${options.interval}"`);
        }
        const pipeline = pipelineByName(options.pipeline ?? "weekly");
        if (pipeline.trigger.kind !== "object")
          throw new UsageError(`pipeline ${pipeline.name} is not started by uploads`);
        const storage = await openBucket(options.bucket, ctx);
        const config = await loadConfig(storage);
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        if (!ctx.json && !options.once) {
          ctx.stderr.write(
            `watching ${storage.uri}/${pipeline.trigger.prefix} every ${interval} s (Ctrl-C to stop)\n`,
          );
        }
        try {
          return await watch({
            storage,
            pipeline,
            executor: new LocalProcessExecutor(storage.uri, ctx.env),
            intervalMs: interval * 1000,
            once: options.once,
            logger: ctx.logger,
            signal: stop.signal,
            webhookUrl: config.notify.webhook_url,
            env: ctx.env,
            onRun: (_object, result) => {
              if (ctx.json)
                ctx.stdout.write(`${jsonDocument({ ...result.record, reused: result.reused })}\n`);
              else emit(ctx, null, describeRun(result.record, result.reused));
            },
          });
        } finally {
          process.removeListener("SIGINT", onSignal);
          process.removeListener("SIGTERM", onSignal);
        }
      }),
    );
}
