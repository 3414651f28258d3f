import { describe, expect, it } from "vitest";
import { decodeRawBatch, rawBatchOf, readRawBatches } from "../../common/schema/raw-batch.js";
import { arrowChunks, byteStream, testSchema } from "../../common/schema/testdata.js";
import type { RowBatch } from "../../common/schema/types.js";
import { RawEncoder } from "./encode-raw.js";
import { type ColumnEncoder, encodeBatchInto, encoderWidth, type FeatureTransform } from "./transform.js";

const stats = { median: 10, q1: 5, q3: 20, scale: 15 };
const encoders: ColumnEncoder[] = [
  { kind: "numeric", column: "amount", stats, missingIndicator: true },
  { kind: "onehot", column: "city", levels: ["Bern", "Zürich", "__proto__"] },
  // Frequency over many distinct names: more than the level table keeps (4,096).
  {
    kind: "frequency",
    column: "name",
    levels: Array.from({ length: 50 }, (_, i) => `n${i}`),
    shares: Array.from({ length: 50 }, (_, i) => (i + 1) / 1000),
    missingIndicator: true,
  },
  { kind: "boolean", column: "flag", fill: 1, missingIndicator: true },
  { kind: "date", column: "since", parts: ["year", "month"], stats: [stats, stats], missingIndicator: true },
];

function transformOf(list: ColumnEncoder[]): FeatureTransform {
  return {
    version: 1,
    encoders: list,
    features: list.flatMap((e) =>
      Array.from({ length: encoderWidth(e) }, (_, k) => ({
        name: `${e.column}:${k}`,
        source: e.column,
        role: "value" as const,
      })),
    ),
  };
}

const schema = testSchema([
  ["amount", "numeric"],
  ["city", "categorical"],
  ["name", "categorical"],
  ["flag", "boolean"],
  ["since", "date"],
]);

function rows(n: number, first: number): RowBatch {
  const cities = ["Bern", "Zürich", null, "Genève", "__proto__", "constructor", "", "Bern "];
  return {
    numRows: n,
    lines: Uint32Array.from({ length: n }, (_, i) => first + i + 2),
    ids: Array.from({ length: n }, (_, i) => `c${first + i}`),
    columns: {
      amount: Float64Array.from({ length: n }, (_, i) =>
        i % 13 === 0 ? Number.NaN : i % 17 === 0 ? Number.POSITIVE_INFINITY : (first + i) * 0.37 - 40,
      ),
      city: Array.from({ length: n }, (_, i) => cities[(first + i) % cities.length]!),
      // Known names, and about 5,000 distinct unknown ones, each seen again later.
      name: Array.from({ length: n }, (_, i) =>
        i % 11 === 0 ? null : i % 3 === 0 ? `n${(first + i) % 60}` : `other ${(first + i) % 5000}`,
      ),
      flag: Float64Array.from({ length: n }, (_, i) => (i % 7 === 0 ? Number.NaN : i % 2)),
      since: Float64Array.from({ length: n }, (_, i) =>
        i % 19 === 0 ? Number.NaN : Date.UTC(2020, 0, 1) + (first + i) * 86_400_000,
      ),
    },
  };
}

/** Index of the first number that differs in its bits (Object.is tells -0 from 0 and NaN from NaN), or -1. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe("RawEncoder", () => {
  it("encodes raw Arrow batches bit for bit like encodeBatchInto on the decoded rows", async () => {
    const transform = transformOf(encoders);
    const d = transform.features.length;
    const bytes = await arrowChunks(schema, [rows(5000, 0), rows(4000, 5000), rows(7, 9000)]);
    const encoder = new RawEncoder(transform);
    let batches = 0;
    for await (const [raw] of readRawBatches(byteStream(bytes))) {
      const got = encoder.encodeInto(raw!, new Float64Array(raw!.numRows * d));
      const want = encodeBatchInto(transform, decodeRawBatch(raw!), new Float64Array(raw!.numRows * d));
      expect(firstDifference(got, want)).toBe(-1);
      batches++;
    }
    expect(batches).toBe(3);
    // Sanity: the one-hot outputs hold exactly one 1 per row, and "Bern " is not "Bern".
    const one = rawBatchOf(rows(8, 0));
    const x = new RawEncoder(transform).encodeInto(one, new Float64Array(8 * d));
    const city = (i: number) => Array.from(x.subarray(i * d + 2, i * d + 7));
    expect(city(0)).toEqual([1, 0, 0, 0, 0]);
    expect(city(2)).toEqual([0, 0, 0, 0, 1]);
    expect(city(4)).toEqual([0, 0, 1, 0, 0]);
    expect(city(5)).toEqual([0, 0, 0, 1, 0]);
    expect(city(7)).toEqual([0, 0, 0, 1, 0]);
  });

  it("fails with the row path's message, naming the line, when a column has the wrong type", () => {
    const batch = rows(4, 0);
    for (const wrong of [
      { kind: "onehot", column: "amount", levels: ["a"] } as ColumnEncoder,
      { kind: "numeric", column: "city", stats, missingIndicator: false } as ColumnEncoder,
    ]) {
      const transform = transformOf([wrong]);
      const out = new Float64Array(4 * transform.features.length);
      let message = "";
      try {
        encodeBatchInto(transform, batch, out);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^line 2: column "(amount|city)" must be/);
      expect(() => new RawEncoder(transform).encodeInto(rawBatchOf(batch), out)).toThrow(message);
    }
  });
});
