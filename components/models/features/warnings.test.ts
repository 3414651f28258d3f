import { describe, expect, it } from "vitest";
import { Rng } from "../../common/random.js";
import type { ColumnSchema, DatasetSchema, RowBatch } from "../../common/schema/types.js";
import { fitTransform } from "./fit.js";

// 200 rows, 20% churners; columns built so each warning has one culprit and
// the ordinary columns raise nothing.
const n = 200;
const rng = new Rng(3);
const label = Uint8Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 1 : 0));
const noisy = Float64Array.from(label, (y) => y + rng.nextGaussian());
// a model score computed from the label (like BankChurners' Naive_Bayes columns)
const leak = Float64Array.from(label, (y) => (y ? 0.9 : 0.1) + rng.nextFloat() * 0.01);
const leakReversed = Float64Array.from(leak, (v) => 1 - v);
const leakText = Array.from(label, (y) => (y ? "closed" : "open"));
const rowNumber = Float64Array.from({ length: n }, (_, i) => i + 1);
// a row counter whose name says nothing: caught by increasing with the row order
const sequence = Float64Array.from({ length: n }, (_, i) => 1000 + 3 * i);
// 95% distinct whole numbers in random order (HR attrition's MonthlyIncome): a measure, kept
const income = Float64Array.from(
  rng.shuffle(Array.from({ length: n }, (_, i) => 2000 + (i < 190 ? i * 37 : 7 * (i % 10)))),
);
// a many-level categorical: in-sample per-level rates would reach ROC-AUC ~1, out of fold it is no signal
const city = Array.from({ length: n }, () => `city-${Math.floor(rng.nextFloat() * 90)}`);
const surname = Array.from({ length: n }, (_, i) => `name-${i}`);
const constant = new Float64Array(n).fill(7);
const constantText = Array.from({ length: n }, () => "same");
const salary = Float64Array.from({ length: n }, () => 1000 + rng.nextFloat() * 5000); // distinct but not integers

const cols: Array<[string, ColumnSchema["type"], Float64Array | Array<string | null>]> = [
  ["noisy", "numeric", noisy],
  ["leak", "numeric", leak],
  ["leak_reversed", "numeric", leakReversed],
  ["status", "categorical", leakText],
  ["RowNumber", "numeric", rowNumber],
  ["Ticket", "numeric", sequence],
  ["MonthlyIncome", "numeric", income],
  ["city", "categorical", city],
  ["Surname", "categorical", surname],
  ["constant", "numeric", constant],
  ["constant_text", "categorical", constantText],
  ["salary", "numeric", salary],
];
const schema: DatasetSchema = {
  version: 1,
  columns: cols.map(([name, type]) => ({ name, type, role: "feature", missingTokens: [] })),
  idColumn: "id",
  generatedId: false,
  source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
};
const batch: RowBatch = {
  numRows: n,
  lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
  ids: surname,
  columns: Object.fromEntries(cols.map(([name, , data]) => [name, data])),
  label,
};

describe("feature warnings", () => {
  const result = fitTransform(batch, schema);
  const codes = (column: string) => result.warnings.filter((w) => w.column === column).map((w) => w.code);

  it.each([
    ["leak", ["likely-leak"]],
    ["leak_reversed", ["likely-leak"]],
    ["status", ["likely-leak"]],
    ["RowNumber", ["id-like"]],
    ["Ticket", ["id-like"]],
    ["MonthlyIncome", []],
    ["city", []],
    ["Surname", ["id-like"]],
    ["constant", ["constant"]],
    ["constant_text", ["constant"]],
    ["noisy", []],
    ["salary", []],
  ])("%s -> %j", (column, expected) => {
    expect(codes(column)).toEqual(expected);
  });

  it("leaves leaking, constant and id-like columns out, and keeps measures", () => {
    const used = result.transform.encoders.map((e) => e.column);
    expect(used).toEqual(["noisy", "MonthlyIncome", "city", "salary"]);
    expect(result.dropped.map((d) => d.column).sort()).toEqual([
      "RowNumber",
      "Surname",
      "Ticket",
      "constant",
      "constant_text",
      "leak",
      "leak_reversed",
      "status",
    ]);
  });

  it("says which column leaks, how strongly, and what to do", () => {
    const w = result.warnings.find((x) => x.column === "leak");
    expect(w?.message).toMatch(
      /"leak" alone separates the classes almost perfectly \(out-of-fold ROC-AUC 1\.0000/,
    );
    expect(w?.message).toMatch(/left out; list it in train\.trusted_features/);
    expect(w?.value).toBe(1);
  });

  it("says why a column is id-like", () => {
    const w = result.warnings.find((x) => x.column === "Ticket");
    expect(w?.message).toMatch(/increases with the row order/);
  });

  it("keeps a trusted leaking column and still warns about it", () => {
    const trusted = fitTransform(batch, schema, { trustedFeatures: ["leak", "status"] });
    const used = trusted.transform.encoders.map((e) => e.column);
    expect(used).toContain("leak");
    expect(used).toContain("status");
    expect(used).not.toContain("leak_reversed");
    const w = trusted.warnings.find((x) => x.column === "leak");
    expect(w?.code).toBe("trusted-leak");
    expect(w?.message).toMatch(/kept because train\.trusted_features lists it/);
  });

  it("honours a stricter threshold (train.leak_auc)", () => {
    const strict = fitTransform(batch, schema, { leakAuc: 0.75 });
    expect(strict.dropped.map((d) => d.column)).toContain("noisy");
  });

  it("can keep id-like columns when asked", () => {
    const kept = fitTransform(batch, schema, { dropIdLike: false });
    expect(kept.transform.encoders.map((e) => e.column)).toContain("RowNumber");
    expect(kept.warnings.some((w) => w.column === "RowNumber" && w.code === "id-like")).toBe(true);
  });
});
