import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Bundle, writeBundle } from "../common/bundle/bundle.js";
import { readIdKey, readTrainedIds, TrainedIdSet } from "../common/bundle/trained-ids.js";
import { holdoutSplit, selectRows } from "../common/data/rows.js";
import { TRAINED_IDS_FILE } from "../common/layout/index.js";
import { Rng } from "../common/random.js";
import { testSchema } from "../common/schema/testdata.js";
import type { RowBatch } from "../common/schema/types.js";
import { openStorage, type Storage } from "../common/storage/index.js";
import { type Family, recipeOf } from "../models/families.js";
import { fitTransform } from "../models/features/fit.js";
import { transformBatch } from "../models/features/transform.js";
import { loadPredictor } from "../models/predictor.js";
import { buildBundle, selectModel } from "../train/select.js";
import { judgeChampion } from "./champion.js";
import { decideGate } from "./gate.js";

const SEED = 7;
const FOLDS = 3;
const schema = testSchema([
  ["x1", "numeric"],
  ["x2", "numeric"],
  ["churned", "boolean", "label"],
]);

/**
 * Customers `from`..`from+n-1` (ids c<i>): churn depends on x1 (`shape`
 * linear: x1 itself; `ring`: |x1| far from 0, which only trees capture),
 * x2 is noise.
 */
function customers(from: number, n: number, shape: "linear" | "ring", seed: number): RowBatch {
  const rng = new Rng(seed);
  const x1 = new Float64Array(n);
  const x2 = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = rng.nextFloat() * 4 - 2;
    x2[i] = rng.nextFloat();
    const m = shape === "linear" ? 2.5 * x1[i]! : 4 * (Math.abs(x1[i]!) - 1);
    label[i] = rng.nextFloat() < 1 / (1 + Math.exp(-m)) ? 1 : 0;
  }
  return {
    numRows: n,
    lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
    ids: Array.from({ length: n }, (_, i) => `c${from + i}`),
    columns: { x1, x2 },
    label,
  };
}

function concat(a: RowBatch, b: RowBatch): RowBatch {
  return selectRows(
    {
      numRows: a.numRows + b.numRows,
      lines: Uint32Array.from([...a.lines, ...b.lines]),
      ids: [...a.ids, ...b.ids],
      columns: {
        x1: Float64Array.from([...(a.columns.x1 as Float64Array), ...(b.columns.x1 as Float64Array)]),
        x2: Float64Array.from([...(a.columns.x2 as Float64Array), ...(b.columns.x2 as Float64Array)]),
      },
      label: Uint8Array.from([...a.label!, ...b.label!]),
    },
    Array.from({ length: a.numRows + b.numRows }, (_, i) => i),
  );
}

/** A bundle trained on `rows` (labels shuffled when `garbage`: a model known to be bad). */
async function train(rows: RowBatch, family: Family, garbage = false): Promise<Bundle> {
  const fitted = fitTransform(rows, schema);
  const matrix = transformBatch(fitted.transform, rows);
  const y = garbage ? new Rng(99).shuffle([...rows.label!]) : [...rows.label!];
  const selection = await selectModel({
    x: matrix.x,
    y: Uint8Array.from(y),
    featureNames: matrix.names,
    families: [family],
    folds: FOLDS,
    seed: SEED,
    tiers: { high: { top_share: 0.1 }, medium: { top_share: 0.3 } },
  });
  return buildBundle({
    schema,
    transform: fitted.transform,
    selection,
    training: { seed: SEED, cv_folds: FOLDS, recipe: recipeOf(family, SEED) },
  });
}

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "contest-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Stores the champion with its trained-id set (as promote does) and returns its version. */
async function storeChampion(bundle: Bundle, trainedOn: RowBatch): Promise<string> {
  const hasher = (await readIdKey(storage, { create: true }))!;
  const ids = TrainedIdSet.fromIds(hasher, trainedOn.ids).serialize();
  return (await writeBundle(storage, bundle, { [TRAINED_IDS_FILE]: ids })).version;
}

/** Evaluate's view: the candidate trained on the history's training split, judged against the champion. */
async function contest(args: {
  history: RowBatch;
  champion: Bundle;
  championVersion: string;
  candidateFamily: Family;
  candidateGarbage?: boolean;
  generateId?: boolean;
}) {
  const split = holdoutSplit(args.history.label!, SEED);
  const candidateBundle = await train(
    selectRows(args.history, split.train),
    args.candidateFamily,
    args.candidateGarbage,
  );
  const verdict = await judgeChampion({
    storage,
    generateId: args.generateId ?? false,
    minCompareRows: 200,
    batch: args.history,
    split,
    candidateBundle,
    candidate: loadPredictor(candidateBundle),
    championBundle: args.champion,
    championVersion: args.championVersion,
    log: () => {},
  });
  const decision = decideGate({
    candidate: { name: "candidate (held-out)", rocAuc: 0.9 },
    champion: verdict.champion,
    versus: verdict.versus,
    minRocAuc: 0.5,
  });
  return { verdict, decision, split };
}

describe("the fair champion contest", () => {
  const old = customers(0, 1500, "linear", 1);
  const fresh = customers(1500, 2500, "linear", 2);
  const history = concat(old, fresh);

  it("a known-better candidate replaces the champion, compared only on rows the champion never trained on", async () => {
    const champion = await train(old, "logistic", true);
    const version = await storeChampion(champion, old);
    const { verdict, decision, split } = await contest({
      history,
      champion,
      championVersion: version,
      candidateFamily: "logistic",
    });
    expect(verdict.comparison.basis).toBe("fresh-rows");
    expect(decision.action).toBe("promote");
    expect(decision.reason).toMatch(/held-out customers \(\d+ churned\) the champion never trained on/);
    // The ids actually used: held-out rows, all new customers, none the champion trained on.
    const trained = new Set(old.ids);
    const holdoutIds = new Set(Array.from(split.valid, (r) => history.ids[r]!));
    expect(verdict.ids.length).toBe(verdict.comparison.rows);
    expect(verdict.ids.length).toBeGreaterThanOrEqual(200);
    for (const id of verdict.ids) {
      expect(trained.has(id)).toBe(false);
      expect(holdoutIds.has(id)).toBe(true);
    }
    // ...and every held-out new customer was used.
    const heldOutFresh = [...holdoutIds].filter((id) => !trained.has(id));
    expect(new Set(verdict.ids)).toEqual(new Set(heldOutFresh));
    expect(verdict.champion.rocAuc).toBeLessThan(0.6);
    expect(verdict.versus.candidate.rocAuc).toBeGreaterThan(0.8);
  }, 60_000);

  it("a known-worse candidate does not replace the champion", async () => {
    const champion = await train(old, "logistic");
    const version = await storeChampion(champion, old);
    const { verdict, decision } = await contest({
      history,
      champion,
      championVersion: version,
      candidateFamily: "logistic",
      candidateGarbage: true,
    });
    expect(verdict.comparison.basis).toBe("fresh-rows");
    expect(decision.action).toBe("keep-champion");
    expect(decision.reason).toMatch(/^Champion [0-9a-f]{16} stays: on \d+ held-out customers/);
  }, 60_000);

  it("a champion trained on the whole history is never scored on it: its recipe is refit on the candidate's folds", async () => {
    // Trees capture the ring, logistic regression cannot: the champion's gbdt recipe must win the CV comparison.
    const ring = concat(customers(0, 1500, "ring", 3), customers(1500, 100, "ring", 4));
    const champion = await train(ring, "gbdt");
    const version = await storeChampion(champion, ring);
    const { verdict, decision } = await contest({
      history: ring,
      champion,
      championVersion: version,
      candidateFamily: "logistic",
    });
    expect(verdict.comparison.basis).toBe("cv-refit");
    expect(verdict.comparison.fresh_rows).toBe(0);
    expect(verdict.ids).toEqual([]);
    expect(verdict.comparison.why).toMatch(
      /only 0 held-out customers .* fewer than gate.min_compare_rows 200/,
    );
    expect(verdict.champion.name).toMatch(/its recipe gbdt, seed 7, refitted/);
    expect(verdict.champion.rocAuc).toBeGreaterThan(verdict.versus.candidate.rocAuc + 0.05);
    expect(decision.action).toBe("keep-champion");
    expect(decision.reason).toMatch(/cross-validated on the candidate's 3 folds/);
  }, 60_000);

  it("the same recipe on the same folds ties (no refit) and the newer candidate is promoted", async () => {
    const champion = await train(old, "logistic");
    const version = await storeChampion(champion, history);
    const { verdict, decision } = await contest({
      history,
      champion,
      championVersion: version,
      candidateFamily: "logistic",
    });
    expect(verdict.comparison.basis).toBe("cv-refit");
    expect(verdict.champion.rocAuc).toBe(verdict.versus.candidate.rocAuc);
    expect(decision.action).toBe("promote");
  }, 60_000);

  it("with generate_id the cross-validated comparison is always used", async () => {
    const champion = await train(old, "logistic", true);
    const version = await storeChampion(champion, old);
    const { verdict, decision } = await contest({
      history,
      champion,
      championVersion: version,
      candidateFamily: "logistic",
      generateId: true,
    });
    expect(verdict.comparison.basis).toBe("cv-refit");
    expect(verdict.comparison.why).toMatch(/generate_id/);
    expect(verdict.comparison.fresh_rows).toBeNull();
    expect(decision.action).toBe("promote");
  }, 60_000);

  it("a champion stored without a trained-id set is judged by cross-validation", async () => {
    const champion = await train(old, "logistic", true);
    const { version } = await writeBundle(storage, champion);
    await readIdKey(storage, { create: true });
    expect(await readTrainedIds(storage, version)).toBeNull();
    const { verdict } = await contest({
      history,
      champion,
      championVersion: version,
      candidateFamily: "logistic",
    });
    expect(verdict.comparison.basis).toBe("cv-refit");
    expect(verdict.comparison.why).toMatch(/records no trained customers/);
  }, 60_000);
});
