import { describe, expect, it } from "vitest";
import { IdHasher, TrainedIdSet } from "../../components/common/bundle/trained-ids.js";
import { rocAuc } from "../../components/common/data/metrics.js";
import { InputError } from "../../components/common/errors.js";
import { Rng } from "../../components/common/random.js";
import type { RowBatch } from "../../components/common/schema/types.js";
import { type CompareSide, compareOnRows } from "./compare.js";

// The core of `churn models compare`: both models judged on the same rows,
// those neither trained on. Fake sides (scores from a column) keep it fast;
// the real models go through test/models-compare.cli.test.ts.

const A = "a".repeat(16);
const B = "b".repeat(16);
const hasher = new IdHasher(Buffer.alloc(32, 7));
const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `c${from + i}`);

/** n customers c0..c<n-1>: churn follows x1; noise is unrelated. */
function customers(n: number): RowBatch {
  const rng = new Rng(3);
  const x1 = new Float64Array(n);
  const noise = new Float64Array(n);
  const label = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = rng.nextFloat();
    noise[i] = rng.nextFloat();
    label[i] = rng.nextFloat() < x1[i]! ? 1 : 0;
  }
  return {
    numRows: n,
    lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
    ids: ids(0, n),
    columns: { x1, noise },
    label,
  };
}

/** A side that scores with one column, and remembers which customers it was asked about. */
function side(version: string, column: string, trained: string[] | null) {
  const seen: string[] = [];
  const s: CompareSide = {
    version,
    score: (rows) => {
      seen.push(...rows.ids);
      return Float64Array.from(rows.columns[column] as Float64Array);
    },
    drivers: () => [
      { column, meanAbs: 0.5, mean: 0.1 },
      { column: "other", meanAbs: 0.1, mean: 0 },
    ],
    trained: trained ? TrainedIdSet.fromIds(hasher, trained) : null,
  };
  return { side: s, seen };
}

describe("compareOnRows", () => {
  const rows = customers(1000);

  it("scores both models on exactly the rows neither trained on, with the same metrics for both", () => {
    const a = side(A, "x1", ids(0, 300));
    const b = side(B, "noise", ids(200, 500));
    const c = compareOnRows({ a: a.side, b: b.side, rows, rowsSource: "runs/r/rows.arrow", hasher });
    expect(c.labelled_rows).toBe(1000);
    expect(c.compared_rows).toBe(500);
    expect(a.seen).toEqual(ids(500, 1000));
    expect(b.seen).toEqual(ids(500, 1000));
    const positives = rows.label!.slice(500).reduce((s, v) => s + v, 0);
    expect(c.compared_positives).toBe(positives);
    expect(c.too_few).toBeNull();
    const ma = c.metrics![A]!;
    const mb = c.metrics![B]!;
    if ("error" in ma || "error" in mb) throw new Error("both sides should score");
    const x1 = (rows.columns.x1 as Float64Array).slice(500);
    expect(ma.roc_auc).toBeCloseTo(rocAuc(rows.label!.slice(500), x1), 5);
    expect(ma.roc_auc).toBeGreaterThan(0.75);
    expect(mb.roc_auc).toBeLessThan(0.6);
    expect(ma.lift_top_10).toBeGreaterThan(mb.lift_top_10);
    expect(ma.brier).toBeLessThan(mb.brier);
    expect(ma.pr_auc).toBeGreaterThan(mb.pr_auc);
    expect(ma.drivers.map((d) => d.column)).toEqual(["x1", "other"]);
    expect(mb.drivers[0]!.column).toBe("noise");
  });

  it("gives no metrics, only the counts, when fewer than 200 rows are new to both", () => {
    const a = side(A, "x1", ids(0, 300));
    const b = side(B, "noise", ids(250, 900));
    const c = compareOnRows({ a: a.side, b: b.side, rows, rowsSource: "x", hasher });
    expect(c.compared_rows).toBe(100);
    expect(c.metrics).toBeNull();
    expect(c.too_few).toMatch(
      /too few rows to compare: 100 of 1000 labelled rows .* at least 200 rows and 30 churned/,
    );
    expect(a.seen).toEqual([]);
  });

  it("says plainly when a model's trained-id set is missing, or hashed with another key", () => {
    const a = side(A, "x1", ids(0, 10));
    const none = side(B, "noise", null);
    expect(compareOnRows({ a: a.side, b: none.side, rows, rowsSource: "x", hasher }).too_few).toMatch(
      /model b{16} has no trained-id set/,
    );
    const other = {
      ...none.side,
      trained: TrainedIdSet.fromIds(new IdHasher(Buffer.alloc(32, 1)), ids(0, 5)),
    };
    expect(compareOnRows({ a: a.side, b: other, rows, rowsSource: "x", hasher }).too_few).toMatch(
      /hashed with another id key/,
    );
    expect(compareOnRows({ a: a.side, b: a.side, rows: null, rowsSource: null, hasher }).too_few).toMatch(
      /no labelled training rows/,
    );
  });

  it("reports a model that cannot score the rows next to the other's metrics", () => {
    const a = side(A, "x1", ids(0, 10));
    const broken: CompareSide = {
      ...side(B, "x1", ids(0, 10)).side,
      score: () => {
        throw new InputError('column "Total_Trans_Ct" is missing');
      },
    };
    const c = compareOnRows({ a: a.side, b: broken, rows, rowsSource: "x", hasher });
    expect(c.metrics![B]).toEqual({
      error: 'cannot score these rows: column "Total_Trans_Ct" is missing',
    });
    expect("roc_auc" in c.metrics![A]!).toBe(true);
  });
});
