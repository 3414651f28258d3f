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
    ["leak", ["leakage"]],
    ["leak_reversed", ["leakage"]],
    ["status", ["leakage"]],
    ["RowNumber", ["id-like"]],
    ["Surname", ["id-like"]],
    ["constant", ["constant"]],
    ["constant_text", ["constant"]],
    ["noisy", []],
    ["salary", []],
  ])("%s -> %j", (column, expected) => {
    expect(codes(column)).toEqual(expected);
  });

  it("keeps leaking columns (the user decides) but leaves constant and id-like ones out", () => {
    const used = result.transform.encoders.map((e) => e.column);
    expect(used).toEqual(["noisy", "leak", "leak_reversed", "status", "salary"]);
    expect(result.dropped.map((d) => d.column).sort()).toEqual([
      "RowNumber",
      "Surname",
      "constant",
      "constant_text",
    ]);
  });

  it("says which column leaks and how strongly", () => {
    const w = result.warnings.find((x) => x.column === "leak");
    expect(w?.message).toMatch(/"leak" alone separates the classes almost perfectly \(ROC-AUC 1\.0000/);
    expect(w?.value).toBe(1);
  });

  it("can keep id-like columns when asked", () => {
    const kept = fitTransform(batch, schema, { dropIdLike: false });
    expect(kept.transform.encoders.map((e) => e.column)).toContain("RowNumber");
    expect(kept.warnings.some((w) => w.column === "RowNumber" && w.code === "id-like")).toBe(true);
  });
});
