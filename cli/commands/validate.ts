import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { readBundle, readChampion } from "../../components/common/bundle/index.js";
import { type ChurnConfig, loadConfig, parseConfig } from "../../components/common/config/index.js";
import { envValue } from "../../components/common/environment.js";
import { type InputError, messageOf, NotFoundError, UsageError } from "../../components/common/errors.js";
import {
  CONFIG_OBJECT,
  INPUT_PREFIX,
  isCsvName,
  triggerNameProblem,
  WEEKLY_PREFIX,
} from "../../components/common/layout/index.js";
import { parseDatasetSchema } from "../../components/common/schema/parse.js";
import type { DatasetSchema } from "../../components/common/schema/types.js";
import { checkObjectName, openStorage } from "../../components/common/storage/index.js";
import type { Storage } from "../../components/common/storage/types.js";
import { assertRejectShare, type IngestResult, ingest } from "../../components/ingest/ingest.js";
import { emit } from "../io.js";
import type { Wrap } from "./index.js";

interface ValidateOptions {
  bucket?: string;
  schema?: string;
  idColumn?: string;
  generateId?: boolean;
  label?: string;
  mode?: "training" | "scoring";
  show?: string;
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The short human summary of an ingest result (shared with `churn component ingest`). */
export function describeResult(result: IngestResult, show = 5): string {
  const lines = [
    `${result.source}: ${fmt(result.rowsIn)} rows, ${fmt(result.accepted)} accepted, ${fmt(result.rejected)} rejected`,
    `  format: ${result.format.gzip ? "gzip, " : ""}${result.format.encoding}${result.format.bom ? " with BOM" : ""}, delimiter ${JSON.stringify(result.format.delimiter)}, decimal "${result.format.decimal}"`,
  ];
  if (result.rejected > 0) {
    const kinds = Object.entries(result.reasons)
      .sort((a, b) => b[1] - a[1])
      .map(([kind, count]) => `${kind} ${fmt(count)}`)
      .join(", ");
    lines.push(`  reasons: ${kinds}`);
    for (const r of result.firstRejects.slice(0, show)) {
      lines.push(`  line ${r.line}, column "${r.column}": ${r.reason}`);
    }
    if (result.rejected > show) lines.push(`  ... and ${fmt(result.rejected - show)} more`);
  }
  if (result.ignoredColumns.length > 0) {
    lines.push(`  ignored (not in the recorded schema): ${result.ignoredColumns.join(", ")}`);
  }
  return lines.join("\n");
}

async function configFor(options: ValidateOptions, storage: Storage | null): Promise<ChurnConfig> {
  const flags = options.idColumn !== undefined || options.generateId || options.label !== undefined;
  if (storage && !flags && (await storage.stat(CONFIG_OBJECT))) return loadConfig(storage);
  if (!flags) {
    throw new UsageError(
      "no churn.yaml to take the id column from: pass --bucket with a churn.yaml, or --id-column NAME / --generate-id",
    );
  }
  let label: { column: string; positive: string } | undefined;
  if (options.label !== undefined) {
    const eq = options.label.indexOf("=");
    if (eq <= 0) throw new UsageError(`--label must look like COLUMN=POSITIVE, got "${options.label}"`);
    label = { column: options.label.slice(0, eq), positive: options.label.slice(eq + 1) };
  }
  return parseConfig(
    { id_column: options.idColumn, generate_id: options.generateId ?? false, label },
    "the command-line flags",
  );
}

/** The schema a weekly file is checked against, and where it came from (validate says which). */
interface ScoringSchema {
  schema: DatasetSchema;
  /** e.g. `the training schema of champion model 3f2a9c0d1b4e5f67`. */
  from: string;
}

/**
 * What the weekly run would read a weekly file with: the champion's recorded
 * training schema, or, before the first model, the schema the next training
 * would infer from the first history file (as ingest-history does). Null
 * when the bucket has neither: the file is then checked on its own.
 */
async function scoringSchema(storage: Storage, config: ChurnConfig): Promise<ScoringSchema | null> {
  const champion = await readChampion(storage);
  if (champion) {
    const { version, bundle } = await readBundle(storage, champion.pointer.version);
    const schema = parseDatasetSchema(JSON.stringify(bundle.schema), `the schema of model ${version}`);
    return { schema, from: `the training schema of champion model ${version}` };
  }
  const history = (await storage.list(INPUT_PREFIX)).find((o) => isCsvName(o.name));
  if (!history || !config.label) return null;
  let inferred: DatasetSchema | null = null;
  await ingest(
    storage.createReadStream(history.name, { gunzip: false }),
    {
      source: `${storage.uri}/${history.name}`,
      config,
      mode: "training",
    },
    {
      schema(schema) {
        inferred = schema;
      },
    },
  );
  return inferred
    ? { schema: inferred, from: `the schema the next training infers from ${history.name} (no champion yet)` }
    : null;
}

/** True when `file` can name an object (relative, no `.`/`..` segments): only then is the bucket asked. */
function isObjectName(file: string): boolean {
  try {
    checkObjectName(file);
    return true;
  } catch {
    return false;
  }
}

/** `churn validate FILE`: run ingest's checks without writing anything. */
export function registerValidate(program: Command, wrap: Wrap): void {
  program
    .command("validate")
    .description(
      "check a CSV file against the data contract (the same checks as ingest) without writing anything",
    )
    .argument("<file>", "a local path, or an object name in --bucket (e.g. weekly/2024-05.csv)")
    .option("--bucket <uri>", "bucket to read the file and churn.yaml from (default: $CHURN_BUCKET)")
    .option(
      "--schema <path>",
      "a recorded schema.json (object in the bucket or local path): read with it, no inference",
    )
    .option("--id-column <name>", "id column, when there is no churn.yaml")
    .option("--generate-id", "number the rows instead of reading an id column")
    .option(
      "--label <column=positive>",
      "label column and its positive value (checks labels as for training)",
    )
    .option(
      "--mode <mode>",
      "training (labels checked) or scoring; default: scoring for weekly/ files and with --schema",
    )
    .option("--show <n>", "rejected rows to list", "5")
    .option("--json", "print one JSON document")
    .addHelpText(
      "after",
      "\nExamples:\n  churn validate weekly/2024-05.csv --bucket ./demo-bucket\n  churn validate ./customers.csv --id-column customer_id --json\n",
    )
    .action(
      wrap<ValidateOptions>(async (options, ctx, args) => {
        const file = args[0]!;
        const bucket = options.bucket ?? envValue(ctx.env, "CHURN_BUCKET");
        const storage = bucket ? await openStorage(bucket, ctx.cwd) : null;
        const config = await configFor(options, storage);
        if (options.mode && options.mode !== "training" && options.mode !== "scoring") {
          throw new UsageError(`--mode must be training or scoring, got "${options.mode}"`);
        }
        let input: AsyncIterable<Uint8Array>;
        let source = file;
        // A path that is not a valid object name (absolute, ./x) is simply not in the bucket. Any
        // other failure to stat it (a link out of the bucket, a network error) is the answer: never
        // fall back to reading the same path locally, which would follow that link after all.
        const inBucket = storage && isObjectName(file) ? await storage.stat(file) : null;
        if (storage && inBucket) {
          // The weekly run refuses such a name before reading a byte; validate says so too.
          const problem = file.startsWith(WEEKLY_PREFIX) ? triggerNameProblem(file, WEEKLY_PREFIX) : null;
          if (problem) {
            throw new UsageError(
              problem.rule === "stem"
                ? problem.reason
                : `"${file}" is never scored by the weekly run: it is ${problem.reason}`,
            );
          }
          input = storage.createReadStream(file, { gunzip: false });
          source = `${storage.uri}/${file}`;
        } else {
          const path = resolve(ctx.cwd, file);
          const info = await stat(path).catch(() => null);
          if (!info?.isFile()) {
            throw new NotFoundError(
              `${file} does not exist${storage ? ` (neither in ${storage.uri} nor locally)` : ""}`,
            );
          }
          input = createReadStream(path);
        }
        let schema: DatasetSchema | undefined;
        if (options.schema) {
          const text =
            storage && (await storage.stat(options.schema))
              ? await storage.readText(options.schema)
              : await readFile(resolve(ctx.cwd, options.schema), "utf8").catch((error) => {
                  throw new NotFoundError(`schema ${options.schema} cannot be read: ${messageOf(error)}`);
                });
          schema = parseDatasetSchema(text, options.schema);
        }
        const mode =
          options.mode ?? (schema || /(^|\/)weekly\//.test(file) || !config.label ? "scoring" : "training");
        // A file to score is read as the weekly run reads it: with the recorded training schema,
        // never one inferred from the file itself (which would pass a file missing a column).
        let schemaFrom = schema ? `the schema in ${options.schema}` : "a schema inferred from this file";
        if (!schema && storage && mode === "scoring") {
          const found = await scoringSchema(storage, config);
          if (found) {
            schema = found.schema;
            schemaFrom = found.from;
          }
        }
        const started = process.hrtime.bigint();
        const result = await ingest(input, {
          source,
          config,
          mode,
          schema,
          keepRejects: Number(options.show) || 5,
        });
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        let failure: InputError | null = null;
        try {
          assertRejectShare(result);
        } catch (error) {
          failure = error as InputError;
        }
        emit(
          ctx,
          {
            ok: failure === null,
            exitCode: failure ? 2 : 0,
            source,
            mode,
            rowsIn: result.rowsIn,
            accepted: result.accepted,
            rejected: result.rejected,
            reasons: result.reasons,
            firstRejects: result.firstRejects,
            format: result.format,
            schema: result.schema,
            schema_from: schemaFrom,
            seconds,
            error: failure ? failure.message : undefined,
          },
          () =>
            `${describeResult(result, Number(options.show) || 5)}\n  checked against ${schemaFrom} in ${seconds.toFixed(2)} s (${mode})`,
        );
        if (failure) {
          ctx.stderr.write(`churn: ${failure.message}\n`);
          return 2;
        }
        return 0;
      }),
    );
}
