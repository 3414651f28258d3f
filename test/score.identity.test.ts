/**
 * The identity rule on the example bucket: for the same bundle and input,
 * scores.csv is byte-identical scored whole, in shards (merged), row by row,
 * and through the server's inference model; training twice with the same
 * seed gives the same bundle; with no champion and a gate nobody passes,
 * `churn train` exits 3 naming which model reached which ROC-AUC.
 */

import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBundle, readChampion } from "../components/common/bundle/index.js";
import { loadConfig } from "../components/common/config/load.js";
import { csvField } from "../components/common/csv/write.js";
import { selectRows } from "../components/common/data/rows.js";
import { bundleObject } from "../components/common/layout/index.js";
import { storedColumns } from "../components/common/schema/arrow.js";
import type { RowBatch } from "../components/common/schema/types.js";
import type { Storage } from "../components/common/storage/types.js";
import { initExampleBucket } from "../components/example-bucket/index.js";
import {
  formatProbability,
  loadChampionModel,
  loadPredictor,
  reasonOptionsOf,
} from "../components/models/predictor.js";
import { scoreBatchCsv, scoresHeader } from "../components/score/scores-csv.js";
import { runCli } from "./ingest-support/helpers.js";
import { readRows, removeTempBuckets, runComponent, tempBucket } from "./models-support/datasets.js";

afterAll(removeTempBuckets);

let dir: string;
let storage: Storage;
let whole: string;
let rowsObject: string;
let version: string;

beforeAll(async () => {
  ({ dir, storage } = await tempBucket({}));
  await initExampleBucket(storage, { rows: 3000, weeklyRows: 1200, seed: 11, force: true });
  const trained = await runCli(["train", "--bucket", dir, "--runner", "in-process", "--json"]);
  expect(trained.code, trained.stderr).toBe(0);
  version = (await readChampion(storage))!.pointer.version;
  const weekly = (await storage.list("weekly/"))[0]!.name;
  const scored = await runCli(["score", "--bucket", dir, "--weekly", weekly, "--json"]);
  expect(scored.code, scored.stderr).toBe(0);
  whole = await storage.readText(JSON.parse(scored.stdout).scores);
  // The same weekly file in many small record batches, for shards and row by row.
  const { bundle } = await readBundle(storage, version);
  await storage.write("runs/r-id/schema.json", JSON.stringify(bundle.schema));
  const ingested = await runComponent(
    storage,
    "ingest",
    "ingest-weekly",
    { data: [weekly], config: ["churn.yaml"], schema: ["runs/r-id/schema.json"] },
    { mode: "scoring", batch_rows: 100 },
    "r-id",
  );
  rowsObject = ingested.output.outputs.rows!.object;
}, 180_000);

describe("scores.csv identity", () => {
  it("has the DESIGN header and one row per weekly row, in input order", async () => {
    const lines = whole.trimEnd().split("\n");
    expect(lines[0]).toBe(
      "CLIENTNUM,churn_probability,risk_tier,reason_1,reason_2,reason_3,reason_codes,model_version,Card_Category,Income_Category",
    );
    expect(lines).toHaveLength(1201);
    const { batch } = await readRows(storage, rowsObject);
    expect(lines.slice(1).map((l) => l.split(",")[0])).toEqual(batch.ids);
    const tiers = new Set(lines.slice(1).map((l) => l.split(",")[2]));
    expect([...tiers].sort()).toEqual(["high", "low", "medium"]);
    // score.reasons_for's default "contact-list": the high tier and campaign.eligible_tiers ([high] here).
    const withReasons = new Set<string>(reasonOptionsOf(await loadConfig(storage)).reasonsFor);
    expect([...withReasons]).toEqual(["high"]);
    for (const line of lines.slice(1)) {
      const f = line.split(",");
      expect(Number(f[1])).toBeGreaterThanOrEqual(0);
      expect(Number(f[1])).toBeLessThanOrEqual(1);
      expect(f[7]).toBe(version);
      // Reasons only for those tiers: sentences (labels from churn.yaml) and their codes.
      if (!withReasons.has(f[2]!)) expect(f.slice(3, 7)).toEqual(["", "", "", ""]);
      else {
        expect(f[3]).toMatch(/^[A-Z][^:]*: \S.*$/);
        const codes = f[6]!.split(";");
        expect(codes.length).toBe(f.slice(3, 6).filter((r) => r !== "").length);
        for (const code of codes) expect(code).toMatch(/^[A-Za-z_0-9]+:\+\d+\.\d\d$/);
      }
    }
  });

  it("is byte-identical on worker threads", async () => {
    const { output } = await runComponent(
      storage,
      "score",
      "score-workers",
      { rows: [rowsObject], champion: [bundleObject(version)], config: ["churn.yaml"] },
      { workers: 3 },
      "r-id",
    );
    expect((output.summary as { workers: number }).workers).toBe(3);
    expect(await storage.readText(output.outputs.scores!.object)).toBe(whole);
  }, 60_000);

  it("is byte-identical in 1, 3 and 7 shards merged", async () => {
    for (const count of [1, 3, 7]) {
      const shards: string[] = [];
      for (let index = 0; index < count; index++) {
        const step = `score-${count}-${index}`;
        const { output } = await runComponent(
          storage,
          "score",
          step,
          { rows: [rowsObject], champion: [bundleObject(version)], config: ["churn.yaml"] },
          { shard_index: index, shard_count: count },
          "r-id",
        );
        shards.push(output.outputs.scores!.object);
      }
      const merged = await runComponent(
        storage,
        "merge-scores",
        `merge-${count}`,
        { scores: shards },
        {},
        "r-id",
      );
      expect(await storage.readText(merged.output.outputs.scores!.object)).toBe(whole);
    }
  }, 60_000);

  it("is byte-identical row by row and through the server's model", async () => {
    // The bucket's churn.yaml, as the server reads it (its labels name the reasons' columns).
    const config = await loadConfig(storage);
    const { bundle } = await readBundle(storage, version);
    const predictor = loadPredictor(bundle);
    const { batch, schema } = await readRows(storage, rowsObject);
    const options = {
      ...reasonOptionsOf(config),
      passthrough: config.passthrough,
      formulaGuard: config.publish.formula_guard,
    };
    let text = scoresHeader(schema, config.passthrough, 3);
    for (let i = 0; i < batch.numRows; i++) text += scoreBatchCsv(predictor, selectRows(batch, [i]), options);
    expect(text).toBe(whole);

    const server = await loadChampionModel(storage);
    expect(server.version).toBe(version);
    const features = storedColumns(schema).filter((c) => c.role === "feature");
    const rows = Array.from({ length: batch.numRows }, (_, i) =>
      Object.fromEntries(
        features.map((c) => {
          const v = (batch.columns[c.name] as RowBatch["columns"][string])[i] ?? null;
          if (typeof v === "number") {
            if (Number.isNaN(v)) return [c.name, null];
            return [c.name, c.type === "boolean" ? v !== 0 : v];
          }
          return [c.name, v];
        }),
      ),
    );
    const scored = server.score(rows);
    const lines = whole.trimEnd().split("\n").slice(1);
    scored.forEach((s, i) => {
      const f = lines[i]!.split(",");
      expect(formatProbability(s.probability)).toBe(f[1]);
      expect(s.tier).toBe(f[2]);
      expect(s.reasons.map((r) => csvField(r)).join("|")).toBe(
        f
          .slice(3, 6)
          .filter((r) => r !== "")
          .join("|"),
      );
      expect(s.reasonCodes).toBe(f[6]);
    });
    const [explanation] = server.explain(rows.slice(0, 1));
    expect(Object.keys(explanation!.contributions).sort()).toEqual(features.map((c) => c.name).sort());
  });

  it("trains the same bundle again with the same seed", async () => {
    const first = JSON.parse(
      await storage.readText(
        (await storage.list("runs/")).find((o) => /\/steps\/train\/output\.json$/.test(o.name))!.name,
      ),
    ) as { outputs: { bundle: { object: string; sha256: string } } };
    const input = JSON.parse(
      await storage.readText(first.outputs.bundle.object.replace(/bundle\.json$/, "input.json")),
    ) as { inputs: Record<string, Array<{ object: string }>> };
    const again = await runComponent(
      storage,
      "train",
      "train-again",
      Object.fromEntries(Object.entries(input.inputs).map(([p, refs]) => [p, refs.map((r) => r.object)])),
      {},
      "r-again",
    );
    expect(again.output.outputs.bundle!.sha256).toBe(first.outputs.bundle.sha256);
  }, 120_000);
});

describe("the gate with no champion", () => {
  it("churn train exits 3 and says which model reached which ROC-AUC", async () => {
    const { dir: other, storage: otherStorage } = await tempBucket({});
    cpSync(join(dir, "input"), join(other, "input"), { recursive: true });
    const yaml = readFileSync(join(dir, "churn.yaml"), "utf8")
      .replace(/min_roc_auc: [0-9.]+/, "min_roc_auc: 0.999")
      .replace(/families: \[[^\]]*\]/, "families: [logistic, gbdt]");
    writeFileSync(join(other, "churn.yaml"), yaml);
    const result = await runCli(["train", "--bucket", other, "--runner", "in-process"]);
    expect(result.code).toBe(3);
    expect(result.stdout + result.stderr).toMatch(/gbdt|logistic/);
    expect(result.stdout + result.stderr).toMatch(/ROC-AUC 0\.\d{4}.*below the gate's 0\.999/);
    expect(await readChampion(otherStorage)).toBeNull();
  }, 120_000);

  it("with a champion, a refused candidate leaves the champion in place and says why", async () => {
    const { dir: other, storage: otherStorage } = await tempBucket({});
    cpSync(join(dir, "input"), join(other, "input"), { recursive: true });
    cpSync(join(dir, "models"), join(other, "models"), { recursive: true });
    const yaml = readFileSync(join(dir, "churn.yaml"), "utf8")
      .replace(/min_roc_auc: [0-9.]+/, "min_roc_auc: 0.999")
      .replace(/families: \[[^\]]*\]/, "families: [logistic]");
    writeFileSync(join(other, "churn.yaml"), yaml);
    const result = await runCli(["train", "--bucket", other, "--runner", "in-process", "--json"]);
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout) as {
      promotion: { action: string; reason: string; champion: string };
    };
    expect(out.promotion.action).toBe("keep-champion");
    expect(out.promotion.reason).toMatch(
      /^Champion .* stays: logistic \(held-out\) reached ROC-AUC 0\.\d{4}, below the gate's 0\.999/,
    );
    expect((await readChampion(otherStorage))!.pointer.version).toBe(version);
    expect(out.promotion.champion).toBe(version);
  }, 120_000);
});
