import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { ingestBytes } from "./ingest-support/helpers.js";
import { datasetPath, describeDatasets } from "./support/datasets.js";

const FILE = datasetPath("bankchurners", "BankChurners.csv");

type Kind = "columns" | "numeric" | "duplicate" | "empty-id" | "quote";
const KINDS: Kind[] = ["columns", "numeric", "duplicate", "empty-id", "quote"];
const NUMERIC = ["Customer_Age", "Credit_Limit", "Total_Trans_Ct", "Months_on_book"];

/** Inject 200 corrupted rows (40 of each kind) at seeded random positions. */
function corrupt(text: string) {
  const lines = text.split("\n");
  const header = lines[0]!.split(",");
  const data = lines.slice(1).filter((l) => l.length > 0);
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const chosen = new Set<number>();
  while (chosen.size < 200) chosen.add(1 + Math.floor(rand() * (data.length - 1)));
  const expected = new Map<number, { kind: Kind; column: string; reason: RegExp }>();
  [...chosen].forEach((index, k) => {
    const kind = KINDS[k % KINDS.length]!;
    const fields = data[index]!.split(",");
    const line = index + 2;
    if (kind === "columns") {
      fields.pop();
      expected.set(line, {
        kind,
        column: header[header.length - 1]!,
        reason: /^wrong column count: expected 23 fields, found 22$/,
      });
    } else if (kind === "numeric") {
      const name = NUMERIC[k % NUMERIC.length]!;
      fields[header.indexOf(name)] = "abc";
      expected.set(line, { kind, column: name, reason: /^not a number: "abc"$/ });
    } else if (kind === "duplicate") {
      // Copy the id of an earlier row that stays intact.
      let source = Math.floor(rand() * index);
      while (chosen.has(source)) source = (source + 1) % index;
      fields[0] = data[source]!.split(",")[0]!;
      expected.set(line, { kind, column: "CLIENTNUM", reason: /^duplicate id$/ });
    } else if (kind === "empty-id") {
      fields[0] = "";
      expected.set(line, { kind, column: "CLIENTNUM", reason: /^empty id$/ });
    } else {
      // Drop the closing quote of the label field: "Existing Customer,45,...
      fields[1] = fields[1]!.slice(0, -1);
      expected.set(line, { kind, column: "Attrition_Flag", reason: /^text after a closing quote$/ });
    }
    data[index] = fields.join(",");
  });
  return { text: `${lines[0]}\n${data.join("\n")}\n`, expected, rows: data.length };
}

function parseRejected(csv: string) {
  // Simple reader for our own rejected.csv (fields may be quoted).
  const out: Array<{ line: number; column: string; reason: string; raw: string }> = [];
  const re = /(?:^|,)(?:"((?:[^"]|"")*)"|([^,\n]*))/g;
  for (const row of csv.trim().split("\n").slice(1)) {
    const fields: string[] = [];
    for (const m of row.matchAll(re))
      fields.push(m[1] !== undefined ? m[1].replaceAll('""', '"') : (m[2] ?? ""));
    out.push({ line: Number(fields[0]), column: fields[1]!, reason: fields[2]!, raw: fields[3]! });
  }
  return out;
}

describeDatasets("BankChurners with 200 corrupted rows", ["bankchurners/BankChurners.csv"], () => {
  it("rejects exactly the corrupted rows with distinct, correct reasons and keeps the rest", async () => {
    const { text, expected, rows } = corrupt(readFileSync(FILE, "utf8"));
    const { result, rejected, batches } = await ingestBytes(Buffer.from(text), {
      id_column: "CLIENTNUM",
      label: { column: "Attrition_Flag", positive: "Attrited Customer" },
    });
    expect(result.rowsIn).toBe(rows);
    expect(result.rejected).toBe(200);
    expect(result.accepted).toBe(rows - 200);
    expect(result.accepted + result.rejected).toBe(result.rowsIn);
    const records = parseRejected(rejected);
    expect(records).toHaveLength(200);
    expect(new Set(records.map((r) => r.line))).toEqual(new Set(expected.keys()));
    for (const r of records) {
      const want = expected.get(r.line)!;
      expect(r.column, `line ${r.line} (${want.kind})`).toBe(want.column);
      expect(r.reason, `line ${r.line} (${want.kind})`).toMatch(want.reason);
    }
    expect(Object.keys(result.reasons).sort()).toEqual(
      ["duplicate id", "empty id", "not a number", "text after a closing quote", "wrong column count"].sort(),
    );
    // The schema survived the corrupt cells, and no rejected line made it into the batches.
    expect(result.schema.columns.find((c) => c.name === "Customer_Age")?.type).toBe("numeric");
    const kept = new Set(batches.flatMap((b) => Array.from(b.lines.subarray(0, b.numRows))));
    for (const line of expected.keys()) expect(kept.has(line)).toBe(false);
    expect(kept.size).toBe(rows - 200);
  });
});
