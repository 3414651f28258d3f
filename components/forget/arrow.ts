import { ArrowStreamWriter, readRowBatches } from "../common/schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { collect } from "../common/storage/streams.js";
import { asLatin1, type ForgetIds } from "./ids.js";

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** True when bytes start like an Arrow IPC stream (continuation marker) or file (`ARROW1`). */
export function looksLikeArrow(bytes: Uint8Array): boolean {
  if (bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString("latin1") === "ARROW1") return true;
  return (
    bytes.length >= 8 && bytes[0] === 0xff && bytes[1] === 0xff && bytes[2] === 0xff && bytes[3] === 0xff
  );
}

/** The rows of a batch at `keep` (ascending indexes), as a new batch. */
export function pickRows(batch: RowBatch, keep: number[]): RowBatch {
  const out: RowBatch = {
    numRows: keep.length,
    lines: Uint32Array.from(keep, (i) => batch.lines[i]!),
    ids: keep.map((i) => batch.ids[i]!),
    columns: {},
  };
  if (batch.label) out.label = Uint8Array.from(keep, (i) => batch.label![i]!);
  for (const [name, values] of Object.entries(batch.columns)) {
    out.columns[name] =
      values instanceof Float64Array
        ? Float64Array.from(keep, (i) => values[i]!)
        : keep.map((i) => values[i]!);
  }
  return out;
}

export interface ArrowForgetResult {
  /** The rewritten stream, or null when no row was a forgotten customer. */
  bytes: Buffer | null;
  rowsRemoved: number;
  rowsKept: number;
  batches: number;
}

/**
 * Drop forgotten customers from an ingest intermediate (Arrow IPC stream of
 * record batches, `__id` column, DatasetSchema in the metadata). The result
 * has the same schema (fields, metadata, label or not) and the same batches
 * in the same order, each without those rows; a batch left empty is dropped,
 * as ingest never writes empty batches.
 */
export async function forgetArrow(
  bytes: Uint8Array,
  ids: ForgetIds,
  onFound: (id: string) => void = () => {},
): Promise<ArrowForgetResult> {
  let dataset: DatasetSchema | null = null;
  const batches: RowBatch[] = [];
  let removed = 0;
  let kept = 0;
  let withLabel = false;
  for await (const batch of readRowBatches(once(bytes), (schema) => {
    dataset = schema;
  })) {
    if (batch.label) withLabel = true;
    const keep: number[] = [];
    for (let i = 0; i < batch.numRows; i++) {
      if (!ids.hasText(batch.ids[i]!)) keep.push(i);
      else onFound(asLatin1(batch.ids[i]!.trim()));
    }
    removed += batch.numRows - keep.length;
    kept += keep.length;
    batches.push(keep.length === batch.numRows ? batch : pickRows(batch, keep));
  }
  if (removed === 0 || !dataset)
    return { bytes: null, rowsRemoved: 0, rowsKept: kept, batches: batches.length };
  const writer = new ArrowStreamWriter(dataset, withLabel);
  const done = collect(writer.readable);
  for (const batch of batches) await writer.write(batch);
  writer.end();
  return { bytes: await done, rowsRemoved: removed, rowsKept: kept, batches: batches.length };
}

/** The ids in an ingest intermediate that are forgotten ones (for checks of versions and leftovers). */
export async function arrowHoldsIds(bytes: Uint8Array, ids: ForgetIds): Promise<boolean> {
  for await (const batch of readRowBatches(once(bytes))) {
    for (const id of batch.ids) if (ids.hasText(id)) return true;
  }
  return false;
}
