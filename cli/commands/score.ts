import { posix } from "node:path";
import type { Command } from "commander";
import { bundleObject, readBundle, readChampion } from "../../components/common/bundle/index.js";
import { hashObject, planAndRunStep } from "../../components/common/component/run.js";
import { CONFIG_OBJECT } from "../../components/common/config/load.js";
import { GateRefusedError, UsageError } from "../../components/common/errors.js";
import { sha256Hex } from "../../components/common/hash.js";
import { openStorage } from "../../components/common/storage/index.js";
import { loadComponent } from "../../components/index.js";
import { bucketOption, emit } from "../io.js";
import type { Wrap } from "./index.js";

interface ScoreOptions {
  bucket?: string;
  weekly?: string;
  out?: string;
  viaServer?: string;
}

/** `churn score`: ingest a weekly file with the recorded schema and score it with the champion. */
export function registerScore(program: Command, wrap: Wrap): void {
  program
    .command("score")
    .description(
      "score a weekly file with the champion model into scores.csv (ingest with the recorded schema first)",
    )
    .option("--bucket <uri>", "bucket URI: gs://bucket or a local folder (default: $CHURN_BUCKET)")
    .requiredOption("--weekly <object>", "the weekly file, e.g. weekly/2024-W18.csv")
    .option("--out <object>", "where scores.csv goes (default: output/<stem>/scores.csv)")
    .option("--via-server <url>", "score through a model server (Open Inference Protocol V2) at this URL")
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  churn score --bucket ./demo-bucket --weekly weekly/2026-W48.csv\n")
    .action(
      wrap<ScoreOptions>(async (options, ctx) => {
        const storage = await openStorage(bucketOption(options.bucket, ctx), ctx.cwd);
        const weekly = options.weekly!;
        const match = /^weekly\/([^/]+?)\.csv(\.gz)?$/.exec(weekly);
        if (!match) throw new UsageError(`--weekly must name weekly/<stem>.csv[.gz], got "${weekly}"`);
        const out = options.out ?? `output/${match[1]}/scores.csv`;
        const champion = await readChampion(storage);
        if (!champion)
          throw new GateRefusedError(`${storage.uri} has no champion model: run churn train first`);
        const { version, bundle } = await readBundle(storage, champion.pointer.version);
        const source = await hashObject(storage, weekly);
        const run = `s-${sha256Hex(`${source.sha256}\n${version}`).slice(0, 16)}`;
        // The weekly file is read with the schema recorded at training time, never re-inferred.
        const schemaObject = `runs/${run}/schema.json`;
        await storage.write(schemaObject, `${JSON.stringify(bundle.schema, null, 2)}\n`, {
          metadata: { "churn-writer": "score" },
        });
        const ingested = await planAndRunStep(
          storage,
          run,
          "ingest-weekly",
          await loadComponent("ingest"),
          { data: [weekly], config: [CONFIG_OBJECT], schema: [schemaObject] },
          { mode: "scoring" },
        );
        const viaServer = options.viaServer ?? null;
        const scored = await planAndRunStep(
          storage,
          run,
          viaServer === null ? "score" : "score-via-server",
          await loadComponent("score"),
          {
            rows: [ingested.outputs.rows!.object],
            champion: [bundleObject(version)],
            config: [CONFIG_OBJECT],
          },
          viaServer === null ? {} : { server_url: viaServer },
        );
        const rejected = posix.join(posix.dirname(out), "rejected.csv");
        const tag = { metadata: { "churn-writer": "score" }, contentType: "text/csv" };
        await storage.copy(scored.outputs.scores!.object, out, tag);
        // Rows the server refused join the ingest step's rejected rows.
        const refusedRef = scored.outputs.refused;
        const refused = refusedRef ? await storage.readText(refusedRef.object) : "";
        if (refused === "") await storage.copy(ingested.outputs.rejected!.object, rejected, tag);
        else
          await storage.write(
            rejected,
            (await storage.readText(ingested.outputs.rejected!.object)) + refused,
            tag,
          );
        const data = {
          weekly,
          scores: out,
          rejected,
          model_version: version,
          rows_in: ingested.counts.rowsIn ?? null,
          scored: scored.counts.scored ?? 0,
          rejected_rows: (ingested.counts.rejected ?? 0) + (scored.counts.rejected ?? 0),
        };
        emit(
          ctx,
          data,
          `scored ${data.scored} rows of ${weekly} with model ${version} (${data.rejected_rows} rejected)\nscores: ${storage.uri}/${out}`,
        );
      }),
    );
}
