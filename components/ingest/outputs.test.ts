import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { ObjectRef } from "../common/component/spec.js";
import { REJECTED_HEADER } from "../common/csv/rejected.js";
import { readRowBatches } from "../common/schema/arrow.js";
import type { DatasetSchema } from "../common/schema/types.js";
import { IngestStepOutputs, type WriteOutput } from "./outputs.js";

const dataset: DatasetSchema = {
  version: 1,
  columns: [
    { name: "id", type: "categorical", role: "id", missingTokens: [] },
    { name: "flag", type: "boolean", role: "label", missingTokens: [] },
  ],
  idColumn: "id",
  generatedId: false,
  label: { column: "flag", positive: "yes" },
  source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
};

/** A writeOutput that reads each output to the end, like storage does. */
function capture(): { write: WriteOutput; stored: Map<string, Buffer> } {
  const stored = new Map<string, Buffer>();
  const write: WriteOutput = async (port, data) => {
    const chunks: Buffer[] = [];
    for await (const chunk of Readable.from(data)) chunks.push(Buffer.from(chunk));
    stored.set(port, Buffer.concat(chunks));
    return { object: `runs/r/steps/ingest/${port}`, sha256: "0".repeat(64), size: 0 } satisfies ObjectRef;
  };
  return { write, stored };
}

async function* once(bytes: Uint8Array) {
  yield bytes;
}

describe("the ingest step's streamed outputs", () => {
  it("writes one rejected.csv header over all files, and rows.arrow with the first schema", async () => {
    const { write, stored } = capture();
    const outputs = new IngestStepOutputs(write, true);
    outputs.schema(dataset);
    await outputs.rejected(`${REJECTED_HEADER}2,id,empty,","\n`);
    await outputs.batch({
      numRows: 1,
      lines: Uint32Array.from([3]),
      ids: ["a"],
      columns: {},
      label: Uint8Array.from([1]),
    });
    // The second file repeats the header and its schema: neither is written twice.
    outputs.schema({ ...dataset, idColumn: "other" });
    await outputs.rejected(`${REJECTED_HEADER}5,flag,bad,"b,x"\n`);
    await outputs.batch({
      numRows: 1,
      lines: Uint32Array.from([2]),
      ids: ["c"],
      columns: {},
      label: Uint8Array.from([0]),
    });
    await outputs.end();
    expect(stored.get("rejected")?.toString()).toBe(`${REJECTED_HEADER}2,id,empty,","\n5,flag,bad,"b,x"\n`);
    let schema: DatasetSchema | null = null;
    const ids: string[] = [];
    for await (const b of readRowBatches(once(stored.get("rows")!), (s) => {
      schema = s;
    }))
      ids.push(...b.ids);
    expect(ids).toEqual(["a", "c"]);
    expect(schema).toEqual(dataset);
  });

  it("refuses a batch before the schema, and makes both writes fail on abort", async () => {
    const streams = new Map<string, NodeJS.ReadableStream>();
    const write: WriteOutput = async (port, data) => {
      streams.set(port, data);
      return { object: port, sha256: "0".repeat(64), size: 0 };
    };
    const outputs = new IngestStepOutputs(write, false);
    await expect(
      outputs.batch({ numRows: 0, lines: new Uint32Array(), ids: [], columns: {} }),
    ).rejects.toThrow(/before the schema/);
    outputs.schema(dataset);
    outputs.abort("disk full");
    // Storage sees a destroyed source and fails the write (a premature close): nothing half-written is kept.
    expect([...streams.keys()].sort()).toEqual(["rejected", "rows"]);
    for (const stream of streams.values()) expect(stream instanceof Readable && stream.destroyed).toBe(true);
  });
});
