import { describe, expect, it } from "vitest";
import { readRowBatches } from "./arrow.js";
import { arrowChunks, byteStream, testSchema } from "./testdata.js";
import type { RowBatch } from "./types.js";

const schema = testSchema([
  ["plan", "categorical"],
  ["note", "categorical", "passthrough"],
]);

async function roundTrip(batch: RowBatch): Promise<RowBatch[]> {
  const out: RowBatch[] = [];
  for await (const b of readRowBatches(byteStream(await arrowChunks(schema, [batch])))) out.push(b);
  return out;
}

describe("readRowBatches", () => {
  it("reads categorical columns back exactly: repeated values, nulls, non-ASCII and more distinct values than it interns", async () => {
    const n = 6000;
    const plan = Array.from({ length: n }, (_, i) =>
      i % 9 === 4 ? null : ["basic", "pro", "gold", "pro+"][i % 4]!,
    );
    // Over 4,096 distinct values: interning gives up part way and slicing takes over.
    const note = Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : `n${i % 5000}`));
    const [back] = await roundTrip({
      numRows: n,
      lines: Uint32Array.from({ length: n }, (_, i) => i + 2),
      ids: Array.from({ length: n }, (_, i) => `c${i}`),
      columns: { plan, note },
    });
    expect(back!.columns.plan).toEqual(plan);
    expect(back!.columns.note).toEqual(note);
    const utf8 = ["Zürich", "Genève", "Zürich", null, "Genève"];
    const [text] = await roundTrip({
      numRows: 5,
      lines: Uint32Array.of(2, 3, 4, 5, 6),
      ids: ["a", "b", "c", "d", "e"],
      columns: { plan: utf8, note: utf8 },
    });
    expect(text!.columns.plan).toEqual(utf8);
  });
});
