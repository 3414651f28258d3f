import { describe, expect, it } from "vitest";
import { readRowBatches } from "./arrow.js";
import { decodeRawBatch, readRawBatches } from "./raw-batch.js";
import { arrowChunks, byteStream, testSchema } from "./testdata.js";
import type { RowBatch } from "./types.js";

const schema = testSchema([
  ["amount", "numeric"],
  ["city", "categorical"],
]);

function batch(rows: number, first: number): RowBatch {
  return {
    numRows: rows,
    lines: Uint32Array.from({ length: rows }, (_, i) => first + i + 2),
    ids: Array.from({ length: rows }, (_, i) => `c${first + i}`),
    columns: {
      amount: Float64Array.from({ length: rows }, (_, i) => ((first + i) % 7 === 0 ? Number.NaN : first + i)),
      // Nulls at irregular places, and non-ASCII text, so pieces split validity bitmaps and UTF-8.
      city: Array.from({ length: rows }, (_, i) =>
        (first + i) % 5 === 3 ? null : `Zürich ${(first + i) % 11}`,
      ),
    },
  };
}

/** A batch as plain arrays of its numRows rows (Arrow value buffers may be padded past the last row). */
function plain(b: RowBatch) {
  return {
    lines: [...b.lines].slice(0, b.numRows),
    ids: b.ids.slice(0, b.numRows),
    amount: [...(b.columns.amount as Float64Array)].slice(0, b.numRows),
    city: (b.columns.city as Array<string | null>).slice(0, b.numRows),
  };
}

describe("readRawBatches", () => {
  it("splits record batches into pieces that decode to exactly the rows readRowBatches gives", async () => {
    const bytes = await arrowChunks(schema, [batch(100, 0), batch(37, 100), batch(3, 137)]);
    const expected = [];
    for await (const b of readRowBatches(byteStream(bytes))) expected.push(plain(b));
    for (const pieceRows of [8, 20, Number.POSITIVE_INFINITY]) {
      const got: ReturnType<typeof plain>[] = [];
      const sizes: number[][] = [];
      for await (const pieces of readRawBatches(byteStream(bytes), { pieceRows, copy: true })) {
        sizes.push(pieces.map((p) => p.numRows));
        const decoded = pieces.map((p) => plain(decodeRawBatch(p)));
        got.push({
          lines: decoded.flatMap((d) => d.lines),
          ids: decoded.flatMap((d) => d.ids),
          amount: decoded.flatMap((d) => d.amount),
          city: decoded.flatMap((d) => d.city),
        });
      }
      expect(got).toEqual(expected);
      // One array per record batch; pieces hold at most pieceRows (rounded down to 8) rows.
      expect(sizes.map((s) => s.reduce((a, b) => a + b, 0))).toEqual([100, 37, 3]);
      if (pieceRows === 20) expect(sizes[0]).toEqual([16, 16, 16, 16, 16, 16, 4]);
      if (!Number.isFinite(pieceRows)) expect(sizes).toEqual([[100], [37], [3]]);
    }
  });
});
