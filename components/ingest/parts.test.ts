import { describe, expect, it } from "vitest";
import { parseConfig } from "../common/config/index.js";
import { InputError } from "../common/errors.js";
import { inferSchema } from "../common/schema/infer.js";
import type { RowBatch } from "../common/schema/types.js";
import { RowConverter } from "./converter.js";
import { checkHeader } from "./header.js";
import { negativeFromSample } from "./label-values.js";
import { IngestSession } from "./session.js";
import type { IngestOptions } from "./types.js";

// The parts of ingest on their own: the header check, the per-row converter, the label values and the session's phases.
const config = parseConfig({ id_column: "id", label: { column: "flag", positive: "yes" } }, "test");
const training = (extra: Partial<IngestOptions> = {}): IngestOptions => ({
  source: "history.csv",
  config,
  mode: "training",
  ...extra,
});

describe("ingest header check", () => {
  it("fills blank names, refuses a name twice and a missing id or label column", () => {
    expect(checkHeader(["id", "", "flag"], training(), ",")).toEqual(["id", "column_2", "flag"]);
    expect(() => checkHeader(["id", "a", "a", "flag"], training(), ",")).toThrow(
      /names "a" twice \(columns 2 and 3\)/,
    );
    expect(() => checkHeader(["ident", "flag"], training(), ",")).toThrow(/no id column "id"/);
    expect(() => checkHeader(["id;flag"], training(), ",")).toThrow(/is the delimiter "," right/);
    expect(() => checkHeader(["id", "x"], training(), ",")).toThrow(InputError);
  });
});

describe("ingest label values", () => {
  it("the negative class is the most frequent non-positive, non-missing value of the sample", () => {
    const rows = [["no"], ["yes"], ["NA"], ["maybe"], ["no"], [""]];
    expect(negativeFromSample(rows, 0, "yes", ["NA"])).toBe("no");
    expect(negativeFromSample([["yes"]], 0, "yes", [])).toBeNull();
  });
});

describe("ingest row converter", () => {
  const header = ["id", "age", "city", "flag"];
  const sample = [
    ["1", "30", "Oslo", "yes"],
    ["2", "41", "Bergen", "no"],
  ];
  const schema = inferSchema(header, sample, {
    idColumn: "id",
    generateId: false,
    label: config.label,
    exclude: [],
    pii: [],
    passthrough: [],
    missingValues: config.ingest.missing_values,
    decimal: ".",
    source: { delimiter: ",", encoding: "utf-8", gzip: false, decimal: "." },
    file: "history.csv",
  });
  const converter = () =>
    new RowConverter(schema, header, training({ batchRows: 2 }), false, ",", () => "", "no");

  it("converts accepted rows into typed batches of batchRows, and flushes the rest", () => {
    const c = converter();
    c.record(["1", "30", "Oslo", "yes"], 2);
    c.record(["2", "", "Bergen", "no"], 3);
    c.record(["3", "5.5", "Oslo", "no"], 4);
    c.flush();
    expect(c.ready.map((b: RowBatch) => b.numRows)).toEqual([2, 1]);
    const first = c.ready[0]!;
    expect(Array.from(first.columns.age as Float64Array)).toEqual([30, Number.NaN]);
    expect(first.columns.city).toEqual(["Oslo", "Bergen"]);
    expect(Array.from(first.label!)).toEqual([1, 0]);
    expect(c.accepted).toBe(3);
  });

  it("rejects a row with every reason, its first column, and duplicates after the first", () => {
    const c = converter();
    c.record(["1", "old", "Oslo", "perhaps"], 2);
    c.record(["2", "30", "Oslo", "yes"], 3);
    c.record(["2", "31", "Oslo", "no"], 4);
    c.record(["3", "30"], 5, "3,30");
    expect(c.rejected).toBe(3);
    expect(c.firstRejects[0]).toMatchObject({ line: 2, column: "flag" });
    expect(c.firstRejects[0]?.reason).toMatch(/unexpected label.*; not a number: "old"/);
    expect(c.firstRejects[1]).toMatchObject({ line: 4, column: "id", reason: "duplicate id" });
    expect(c.firstRejects[2]?.reason).toMatch(/wrong column count: expected 4 fields, found 2/);
    expect(c.rejectedText.join("")).toMatch(/^line,column,reason,raw\n/);
  });
});

describe("ingest session", () => {
  const sinks = () => {
    const got = { schemas: 0, batches: 0, rejected: "" };
    return {
      got,
      sinks: {
        schema: () => {
          got.schemas++;
        },
        batch: () => {
          got.batches++;
        },
        rejected: (t: string) => {
          got.rejected += t;
        },
      },
    };
  };

  it("samples rows, infers the schema once the sample is full, then converts the rest", async () => {
    const session = new IngestSession(training({ sampleRows: 2 }));
    const { got, sinks: s } = sinks();
    session.startParser("id,age,flag\n1,30,yes\n");
    await session.drain(s);
    expect(got.schemas).toBe(0);
    session.push("2,40,no\n3,x,no\n");
    session.end();
    await session.drain(s);
    expect(got.schemas).toBe(1);
    const result = await session.finish(true, s);
    expect(got.schemas).toBe(1);
    expect(result).toMatchObject({ rowsIn: 3, accepted: 2, rejected: 1 });
    expect(got.rejected).toContain('not a number: ""x""');
    expect(got.batches).toBe(1);
  });

  it("a file that ends in the header phase is empty; a header alone has no data rows", async () => {
    const empty = new IngestSession(training());
    empty.startParser("\n \n");
    empty.end();
    await expect(empty.finish(true, {})).rejects.toThrow("history.csv is empty");
    const headerOnly = new IngestSession(training());
    headerOnly.startParser("id,age,flag\n");
    headerOnly.end();
    await expect(headerOnly.finish(true, {})).rejects.toThrow("has a header but no data rows");
  });
});
