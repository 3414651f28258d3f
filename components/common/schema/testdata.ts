import { Readable } from "node:stream";
import { ArrowStreamWriter } from "./arrow.js";
import type { ColumnRole, ColumnType, DatasetSchema, RowBatch } from "./types.js";

/** Test helper: RowBatches written as an ingest Arrow IPC stream, returned as its chunks. */
export async function arrowChunks(schema: DatasetSchema, batches: RowBatch[]): Promise<Uint8Array[]> {
  const writer = new ArrowStreamWriter(schema, false);
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const chunk of writer.readable) chunks.push(chunk as Uint8Array);
  })();
  for (const batch of batches) await writer.write(batch);
  writer.end();
  await done;
  return chunks;
}

/**
 * Test helper: chunks as a byte-mode stream, like a file or GCS read stream
 * (object mode would hand Arrow's reader whole chunks where it asks for bytes).
 */
export function byteStream(chunks: Uint8Array[]): Readable {
  return Readable.from(chunks, { objectMode: false });
}

/** Test helper: the schema of a CSV file with an `id` column and these columns (missing as ""). */
export function testSchema(
  columns: Array<[name: string, type: ColumnType, role?: ColumnRole]>,
): DatasetSchema {
  return {
    version: 1,
    idColumn: "id",
    generatedId: false,
    source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
    columns: [
      { name: "id", type: "categorical", role: "id", missingTokens: [] },
      ...columns.map(([name, type, role = "feature"]) => ({ name, type, role, missingTokens: [""] })),
    ],
  };
}
