import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUNDLE_FORMAT,
  type Bundle,
  promote,
  readChampion,
  writeBundle,
} from "../../components/common/bundle/index.js";
import { buildManifest, manifestText } from "../../components/common/documents/manifest.js";
import { InputError, NotFoundError } from "../../components/common/errors.js";
import { sha256Hex } from "../../components/common/hash.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { pendingStep, type RunRecord, writeRunRecord } from "../runner/records.js";
import { getModel, getRun, getWeek, listModels, listRunRecords, listRuns, listWeeks } from "./index.js";

// The query library on a hand-made local folder bucket: runs (one damaged
// record), models (good, damaged three ways, champion) and weeks.

function record(runId: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    version: 1,
    run_id: runId,
    pipeline: "weekly",
    bucket: "file:///x",
    runner: "local",
    trigger: { object: "weekly/2026-W01.csv", generation: "1" },
    attempt: 1,
    state: "succeeded",
    exit_code: 0,
    reason: null,
    started: "2026-01-05T10:00:00.000Z",
    finished: "2026-01-05T10:00:09.000Z",
    seconds: 9,
    code_version: "sha256:test",
    output_prefix: "output/2026-W01/",
    steps: [
      {
        ...pendingStep({ name: "ingest-history", component: "ingest" }),
        state: "cached",
        cache: { key: "k", hit: true, from: "r-x/ingest-history" },
      },
      { ...pendingStep({ name: "train", component: "train" }), state: "succeeded" },
    ],
    ...extra,
  };
}

function bundle(rocAuc: number): Bundle {
  return {
    format: BUNDLE_FORMAT,
    schema: {},
    transform: {},
    model: { family: "gbdt" },
    calibration: null,
    tiers: { high: 0.6, medium: 0.3 },
    metrics: { roc_auc: rocAuc },
    training: { training_rows: 10 },
  };
}

const A = "r-aaaaaaaaaaaaaaaa";
const B = "r-bbbbbbbbbbbbbbbb";
const NOT_JSON = "1111111111111111";
const NOT_A_BUNDLE = "2222222222222222";
let dir: string;
let storage: Storage;
let good: string;
let edited: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "query-"));
  storage = await openStorage(dir);
  await writeRunRecord(storage, record(A));
  await writeRunRecord(
    storage,
    record(B, {
      state: "failed",
      exit_code: 2,
      reason: "bad",
      started: "2026-01-06T10:00:00.000Z",
      pipeline: "lifetime",
      output_prefix: "output/lifetime/shop/",
      trigger: { object: "transactions/shop.csv", generation: "1" },
    }),
  );
  await storage.write("runs/r-cccccccccccccccc/run.json", "{half written");
  good = (await writeBundle(storage, bundle(0.9), { "evaluation.json": '{"reason":"beats the champion"}' }))
    .version;
  edited = (await writeBundle(storage, bundle(0.8))).version;
  await promote(storage, good, "first");
  // Damaged three ways: not JSON, not a bundle, and edited after it was written (hash mismatch).
  await storage.write(`models/${NOT_JSON}/bundle.json`, "{not json");
  await storage.write(`models/${NOT_A_BUNDLE}/bundle.json`, '{"format":"churn-bundle/1"}');
  await storage.write(`models/${edited}/bundle.json`, JSON.stringify({ ...bundle(0.99) }));
  await storage.write("weekly/2026-W01.csv", "id\n");
  await storage.write("weekly/2026-W03.CSV", "id\n");
  await storage.write("weekly/_draft.csv", "id\n");
  await publishWeek("2026-W01", {
    "scores.csv": "id\n",
    "summary.json": JSON.stringify({ counts: { scored: 3 } }),
  });
  await storage.write("output/2026-W02/_FAILED", "it broke\n");
  await storage.write("output/2026-W04/scores.csv", "id\n");
  // Published, then scores.csv replaced and the manifest not yet: a publish in progress.
  await publishWeek("2026-W05", { "scores.csv": "id\n" });
  await storage.write("output/2026-W05/scores.csv", "id\n1\n");
  // A _SUCCESS of an older release (the run id only) is no manifest.
  await storage.write("output/2026-W06/scores.csv", "id\n");
  await storage.write("output/2026-W06/_SUCCESS", "r\n");
  await storage.write("output/lifetime/shop/customers.csv", "id\n");
  await storage.write("output/_latest.json", "{}");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Publish files as the publish step does: the files, then their manifest. */
async function publishWeek(stem: string, files: Record<string, string>): Promise<void> {
  const published = [];
  for (const [name, text] of Object.entries(files))
    published.push({
      name,
      info: await storage.write(`output/${stem}/${name}`, text),
      sha256: sha256Hex(text),
    });
  await storage.write(`output/${stem}/_SUCCESS`, manifestText(buildManifest(A, null, published)));
}

describe("runs", () => {
  it("lists readable records newest first, skipping a damaged one", async () => {
    expect((await listRunRecords(storage)).map((r) => r.run_id)).toEqual([B, A]);
    const [b, a] = await listRuns(storage);
    expect(a).toEqual({
      run_id: A,
      pipeline: "weekly",
      state: "succeeded",
      trigger: "weekly/2026-W01.csv",
      started: "2026-01-05T10:00:00.000Z",
      finished: "2026-01-05T10:00:09.000Z",
      seconds: 9,
      exit_code: 0,
      reason: null,
      cache_hits: 1,
      steps: 2,
    });
    expect(b).toMatchObject({ run_id: B, state: "failed", reason: "bad" });
  });

  it("filters by state, pipeline and limit, and refuses an unknown state", async () => {
    expect((await listRuns(storage, { state: "failed" })).map((r) => r.run_id)).toEqual([B]);
    expect((await listRuns(storage, { pipeline: "weekly" })).map((r) => r.run_id)).toEqual([A]);
    expect(await listRuns(storage, { limit: 1 })).toHaveLength(1);
    await expect(listRuns(storage, { state: "exploded" })).rejects.toThrow(
      /state must be one of running, interrupted, succeeded, failed, got "exploded"/,
    );
  });

  it("reads one run; refuses what is not a run id, names an unknown run and a damaged record", async () => {
    expect((await getRun(storage, A)).run_id).toBe(A);
    await expect(getRun(storage, "../churn.yaml")).rejects.toThrow(/is not a run id/);
    await expect(getRun(storage, "r-0000000000000000")).rejects.toThrow(NotFoundError);
    await expect(getRun(storage, "r-cccccccccccccccc")).rejects.toThrow(InputError);
    await expect(getRun(storage, "r-cccccccccccccccc")).rejects.toThrow(
      /runs\/r-c{16}\/run.json is not valid JSON/,
    );
  });
});

describe("models", () => {
  it("lists usable bundles with the champion, and damaged ones with the reason", async () => {
    const { champion, models, problems } = await listModels(storage);
    expect(champion?.version).toBe(good);
    expect(models).toEqual([
      {
        version: good,
        family: "gbdt",
        roc_auc: 0.9,
        cv_roc_auc: null,
        tiers: { high: 0.6, medium: 0.3 },
        training_rows: 10,
        created: expect.any(String),
        champion: true,
        decision: "beats the champion",
      },
    ]);
    const reasons = Object.fromEntries(problems.map((p) => [p.version, p.error]));
    expect(Object.keys(reasons).sort()).toEqual([NOT_JSON, NOT_A_BUNDLE, edited].sort());
    expect(reasons[NOT_JSON]).toMatch(/is not valid JSON/);
    expect(reasons[NOT_A_BUNDLE]).toMatch(/is not a valid bundle/);
    expect(reasons[edited]).toMatch(/was modified: its content hashes to/);
  });

  it("gives one model; a damaged one is an InputError with the reason, an unknown one NotFound", async () => {
    const { model, evaluation } = await getModel(storage, good);
    expect(model.version).toBe(good);
    expect(evaluation).toEqual({ reason: "beats the champion" });
    await expect(getModel(storage, NOT_JSON)).rejects.toThrow(
      /model 1111111111111111 is damaged: .*not valid JSON/,
    );
    await expect(getModel(storage, "0000000000000000")).rejects.toThrow(NotFoundError);
    await expect(getModel(storage, "nope")).rejects.toThrow(/not a model version/);
  });

  it("never promotes a damaged bundle", async () => {
    for (const version of [NOT_JSON, NOT_A_BUNDLE, edited]) {
      await expect(promote(storage, version, "try")).rejects.toThrow(
        /cannot promote .*: the bundle is damaged/,
      );
    }
    expect((await readChampion(storage))?.pointer.version).toBe(good);
  });
});

describe("weeks", () => {
  it("lists weekly files and output folders with their state, newest stem first", async () => {
    const weeks = await listWeeks(storage);
    expect(weeks.map((w) => [w.stem, w.status, w.weekly_file])).toEqual([
      ["2026-W06", "incomplete", null],
      ["2026-W05", "incomplete", null],
      ["2026-W04", "incomplete", null],
      ["2026-W03", "waiting", "weekly/2026-W03.CSV"],
      ["2026-W02", "failed", null],
      ["2026-W01", "published", "weekly/2026-W01.csv"],
    ]);
    const w1 = weeks[5]!;
    expect(w1.counts).toEqual({ scored: 3 });
    expect(w1.runs).toEqual([A]);
    expect(w1.published_by).toBe(A);
    expect(w1.files.map((f) => f.name).sort()).toEqual(["_SUCCESS", "scores.csv", "summary.json"]);
    expect(weeks[4]!.failure).toBe("it broke");
    expect(weeks[0]!.problem).toMatch(/output\/2026-W06\/_SUCCESS is not valid JSON/);
    expect(weeks[1]!.problem).toMatch(/scores\.csv has 5 bytes, the manifest lists 3/);
    expect(weeks[2]!.problem).toMatch(/1 file\(s\) and no _SUCCESS manifest yet/);
  });

  it("gives one week, and says when there is none", async () => {
    expect((await getWeek(storage, "2026-W02")).status).toBe("failed");
    await expect(getWeek(storage, "2099-W01")).rejects.toThrow(/no week 2099-W01/);
  });
});
