import type { Command } from "commander";
import { envValue } from "../../components/common/environment.js";
import { checkExposure, createConsoleApp } from "../../serving/console/app.js";
import { emit, integerOption, listenError, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface UiOptions {
  bucket?: string;
  port: string;
  host: string;
  allowChanges?: boolean;
  authToken?: string;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      resolve(signal);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

/** `churn ui`: the web console over a bucket (runs, steps, logs, models, weeks). */
export function registerUi(program: Command, wrap: Wrap): void {
  program
    .command("ui")
    .description(
      "serve the web console: runs with their DAG, step logs, models (promote/rollback with --allow-changes) and each week's outputs; read-only and on 127.0.0.1 unless told otherwise",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--port <n>", "TCP port (0 picks a free one)", "8090")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--allow-changes", "serve promote and rollback (otherwise every change request gets 403)")
    .option(
      "--auth-token <token>",
      "bearer token every change request must carry (required with --allow-changes off loopback; default $CHURN_UI_TOKEN)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  churn ui --bucket ./demo-bucket                 # then open http://127.0.0.1:8090/\n  churn ui --bucket gs://my-bucket --allow-changes\n  curl -s localhost:8090/api/runs?state=failed\n",
    )
    .action(
      wrap<UiOptions>(async (options, ctx) => {
        const authToken = options.authToken ?? envValue(ctx.env, "CHURN_UI_TOKEN");
        const listenPort = integerOption(options.port, "--port", 0, 65_535);
        const allowChanges = Boolean(options.allowChanges);
        checkExposure({ host: options.host, allowChanges, authToken });
        const storage = await openBucket(options.bucket, ctx);
        const logger = ctx.logger.child({ component: "ui" });
        const app = createConsoleApp({ storage, allowChanges, authToken, host: options.host, logger });
        const stopped = untilSignal();
        let address: string;
        try {
          address = await app.listen({ host: options.host, port: listenPort });
        } catch (error) {
          throw listenError(error, options.host, listenPort);
        }
        logger.info(`console on ${address}/ (${allowChanges ? "changes allowed" : "read-only"})`, {
          address,
          bucket: storage.uri,
        });
        const signal = await stopped;
        await app.close();
        emit(ctx, { ok: true, address, signal }, `console on ${address} stopped`);
      }),
    );
}
