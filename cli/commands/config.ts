import type { Command } from "commander";
import { stringify } from "yaml";
import { churnConfigJsonSchema, loadConfig } from "../../components/common/config/index.js";
import { emit, openBucket } from "../io.js";
import type { Wrap } from "./index.js";

interface BucketOptions {
  bucket?: string;
}

/** `churn config show|schema`. */
export function registerConfig(program: Command, wrap: Wrap): void {
  const config = program
    .command("config")
    .description("inspect churn.yaml: the effective config and its schema");

  config
    .command("show")
    .description("print the effective config of a bucket (churn.yaml with every default filled in)")
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .option("--json", "print JSON instead of YAML")
    .addHelpText("after", "\nExample:\n  churn config show --bucket ./demo-bucket\n")
    .action(
      wrap<BucketOptions>(async (options, ctx) => {
        const storage = await openBucket(options.bucket, ctx);
        const effective = await loadConfig(storage);
        emit(ctx, effective, () => stringify(effective));
      }),
    );

  config
    .command("schema")
    .description("print the JSON Schema of churn.yaml")
    .option("--json", "(always JSON)")
    .addHelpText("after", "\nExample:\n  churn config schema > churn.schema.json\n")
    .action(
      wrap(async (_options, ctx) => {
        const schema = churnConfigJsonSchema();
        ctx.stdout.write(`${JSON.stringify(schema, null, 2)}\n`);
      }),
    );
}
