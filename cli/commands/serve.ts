import type { Command } from "commander";
import { loadConfig } from "../../components/common/config/index.js";
import { envValue } from "../../components/common/environment.js";
import { messageOf, UsageError } from "../../components/common/errors.js";
import { CHAMPION_OBJECT, LIFETIME_MODELS_PREFIX } from "../../components/common/layout/index.js";
import type { Logger } from "../../components/common/log.js";
import type { Storage } from "../../components/common/storage/index.js";
import { DEFAULT_LIMITS } from "../../serving/limits.js";
import { emit, integerOption, listenError, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface ServeOptions {
  bucket?: string;
  port: string;
  host: string;
  maxRows: string;
  maxBodyMb: string;
  poll: string;
  lookupToken?: string;
  token?: string;
}

/** The /predict default horizon: churn.yaml lifetime.horizon_days, or its default when there is no usable churn.yaml. */
async function horizonDays(storage: Storage, logger: Logger): Promise<number> {
  try {
    return (await loadConfig(storage)).lifetime.horizon_days;
  } catch (error) {
    // Serving churn does not need churn.yaml; only /predict's default horizon does.
    logger.warn("no usable churn.yaml: /predict defaults to a 90-day horizon", { error: messageOf(error) });
    return 90;
  }
}

/** `churn serve`: the model server (V2, Seldon v1, metrics) following the bucket's champion. */
export function registerServe(program: Command, wrap: Wrap): void {
  program
    .command("serve")
    .description(
      "serve the champion model over Open Inference Protocol V2 and Seldon v1, and the newest lifetime model on POST /predict, with Prometheus /metrics; starts without any model (live at once, /v2/health/ready 503 until one loads), follows models/champion and models/lifetime/ and swaps models without failing requests",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--port <n>", "TCP port (0 picks a free one)", "8080")
    .option("--host <address>", "address to listen on (0.0.0.0 in a container)", "127.0.0.1")
    .option("--max-rows <n>", "largest batch per request", String(DEFAULT_LIMITS.maxRows))
    .option(
      "--max-body-mb <n>",
      "largest request body in MiB",
      String(DEFAULT_LIMITS.bodyBytes / 1024 / 1024),
    )
    .option(
      "--poll <seconds>",
      "how often to check models/champion (and output/_latest.json, the customer lookup's week) for a change",
      "5",
    )
    .option(
      "--lookup-token <token>",
      "bearer token GET /v1/customers/{id} requires, at least 16 characters (default $CHURN_LOOKUP_TOKEN; without one the lookup is open)",
    )
    .option(
      "--token <token>",
      "bearer token the model repository routes (POST /v2/repository/index, /v2/repository/models/{name}/load and /unload) require (default: $CHURN_SERVE_TOKEN; unset: none)",
    )
    .addHelpText(
      "after",
      '\nExample:\n  churn serve --bucket ./demo-bucket --port 8080\n  curl -s localhost:8080/v2/models/churn\n  curl -s localhost:8080/v1/customers/C-1001   # the newest published week\'s score of one customer\n  curl -s localhost:8080/predict -d \'{"frequency": 30, "recency": 100, "T": 215}\'\n  curl -s localhost:8080/predict -H \'content-type: application/json\' \\\n    -d \'{"customers": [{"frequency": 2, "recency": 30.4, "T": 38.9}]}\'\n',
    )
    .action(
      wrap<ServeOptions>(async (options, ctx) => {
        const port = integerOption(options.port, "--port", 0, 65_535);
        const maxRows = integerOption(options.maxRows, "--max-rows");
        const bodyBytes = integerOption(options.maxBodyMb, "--max-body-mb", 0, 1024) * 1024 * 1024;
        const pollMs = integerOption(options.poll, "--poll", 0, 86_400) * 1000 || 5_000;
        const lookupToken = options.lookupToken ?? envValue(ctx.env, "CHURN_LOOKUP_TOKEN");
        if (lookupToken !== undefined && lookupToken.length < 16)
          throw new UsageError("--lookup-token must be at least 16 characters");
        const storage = await openBucket(options.bucket, ctx);
        // The server stack loads only for this command: every pipeline step starts this CLI.
        const [
          { championSource },
          { loadChampionModel },
          { lifetimeSource },
          { loadLifetimeModel },
          { runUntilSignal },
          { createModelServer },
        ] = await Promise.all([
          import("../../serving/champion-source.js"),
          import("../../components/models/predictor.js"),
          import("../../serving/lifetime-source.js"),
          import("../../components/models/lifetime/model.js"),
          import("../../serving/run.js"),
          import("../../serving/server.js"),
        ]);
        const logger = ctx.logger.child({ component: "serve" });
        // Both models the same way: a source following the bucket, with the family's loader.
        const watching = (failure: string) => ({
          pollMs,
          onPollError: (error: unknown) => logger.warn(failure, { error: String(error) }),
        });
        const sources = [
          championSource(storage, loadChampionModel, watching(`could not check ${CHAMPION_OBJECT}`)),
          lifetimeSource(storage, loadLifetimeModel, watching(`could not list ${LIFETIME_MODELS_PREFIX}`)),
        ];
        const server = await createModelServer({
          sources,
          // Neither model is required: a fresh bucket serves (live, not ready) until one is trained.
          required: [],
          lifetimeHorizonDays: await horizonDays(storage, logger),
          logger,
          limits: { maxRows, bodyBytes },
          // The customer lookup follows output/_latest.json as often as the models are checked.
          lookup: { storage, token: lookupToken, pollMs },
          token: options.token ?? envValue(ctx.env, "CHURN_SERVE_TOKEN"),
        });
        const { address } = await runUntilSignal(server, { host: options.host, port, logger }).catch(
          (error) => {
            throw listenError(error, options.host, port);
          },
        );
        emit(ctx, { ok: true, address }, `model server on ${address} stopped`);
      }),
    );
}
