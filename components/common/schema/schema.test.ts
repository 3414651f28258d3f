import { describe, expect, it } from "vitest";
import { IdHashSet } from "./idset.js";
import { inferSchema } from "./infer.js";
import { parseDate, parseNumber } from "./values.js";

describe("IdHashSet", () => {
  it("finds duplicates among many ids and grows", () => {
    const set = new IdHashSet(16);
    for (let i = 0; i < 50_000; i++) expect(set.add(`C${i}`)).toBe(true);
    expect(set.size).toBe(50_000);
    for (let i = 0; i < 50_000; i += 997) expect(set.add(`C${i}`)).toBe(false);
    expect(set.add("")).toBe(true);
    expect(set.bytes / set.size).toBeLessThan(24);
  });
});

describe("values", () => {
  it.each([
    ["12", 12],
    ["-1.5", -1.5],
    ["1e3", 1000],
    [".5", 0.5],
    ["0x10", Number.NaN],
    ["Infinity", Number.NaN],
    ["1e400", Number.NaN],
    ["-1e400", Number.NaN],
    [" ", Number.NaN],
    ["", Number.NaN],
    ["12a", Number.NaN],
  ])("parseNumber(%j) = %s", (text, expected) => {
    expect(parseNumber(text)).toBe(expected);
  });
  it("parses decimal commas", () => {
    expect(parseNumber("1,5", true)).toBe(1.5);
    expect(parseNumber("1.234,5", true)).toBe(1234.5);
    expect(parseNumber("1.5", true)).toBeNaN();
  });
  it("parses dates strictly", () => {
    expect(parseDate("2024-02-29", "YYYY-MM-DD")).toBe(Date.UTC(2024, 1, 29));
    expect(parseDate("2023-02-29", "YYYY-MM-DD")).toBeNaN();
  });
});

describe("inferSchema", () => {
  it("types columns, records missing tokens and roles, tolerates a few bad cells", () => {
    const rows: string[][] = [];
    for (let i = 0; i < 200; i++) {
      rows.push([
        String(i),
        i % 2 ? "Yes" : "No",
        i % 3 ? "Gold" : "Unknown",
        String(i * 1.5),
        "2024-01-0" + ((i % 9) + 1),
        "x@y",
      ]);
    }
    rows[5]![3] = "oops"; // one corrupt numeric cell must not make the column text
    const schema = inferSchema(["id", "churn", "tier", "amount", "since", "email"], rows, {
      idColumn: "id",
      generateId: false,
      label: { column: "churn", positive: "Yes" },
      exclude: [],
      pii: ["email"],
      passthrough: ["tier"],
      missingValues: ["", "Unknown"],
      decimal: ".",
      source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
    });
    const by = Object.fromEntries(schema.columns.map((c) => [c.name, c]));
    expect(by.id).toMatchObject({ role: "id", type: "categorical" });
    expect(by.churn).toMatchObject({
      role: "label",
      type: "boolean",
      trueValues: ["Yes"],
      falseValues: ["No"],
    });
    // Passthrough stays raw text (copied unchanged into scores.csv): no missing tokens.
    expect(by.tier).toMatchObject({ role: "passthrough", type: "categorical", missingTokens: [] });
    expect(by.amount).toMatchObject({ type: "numeric", integer: false });
    expect(by.since).toMatchObject({ type: "date", dateFormat: "YYYY-MM-DD" });
    expect(by.email).toMatchObject({ role: "pii", type: "categorical" });
    expect(by.email!.categories).toBeUndefined();
  });
});
