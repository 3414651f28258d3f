import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
import { createGzip } from "node:zlib";
import { ArrowStreamWriter, readRowBatches } from "../common/schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { pickRows } from "./arrow.js";
import { type CsvIdRule, CsvRowFilter } from "./csv.js";
import { asLatin1, type ForgetIds } from "./ids.js";

/**
 * Streaming passes over the big objects (CSV files, Arrow intermediates), so
 * memory stays at about one chunk or one record batch whatever their size:
 * a first pass counts what would go; only when something does, a second pass
 * writes the kept rows back.
 */

/** What a pass over one object found. */
export interface PassResult {
  rowsRemoved: number;
  rowsKept: number;
  /** Forgotten ids seen (latin1 form). */
  found: Set<string>;
}

/** Bytes that are hashed (sha256, size) as they are consumed: the stored bytes, as run records hash them. */
export class Hashed {
  private readonly hash = createHash("sha256");
  size = 0;
  constructor(private readonly source: AsyncIterable<Uint8Array>) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for await (const chunk of this.source) {
      this.hash.update(chunk);
      this.size += chunk.length;
      yield chunk;
    }
  }
  /** The hex digest, once the bytes were consumed. */
  digest(): string {
    return this.hash.digest("hex");
  }
}

/** Gzip a byte stream (errors on either side reach the reader). */
export function gzipped(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  return pipeline(Readable.from(source), createGzip(), () => {});
}

/** Run a CSV object through the row filter; with `keep`, the kept text comes out chunk by chunk. */
async function* csvPass(
  source: AsyncIterable<Uint8Array>,
  ids: ForgetIds,
  rule: CsvIdRule,
  result: PassResult,
): AsyncGenerator<Uint8Array> {
  const out: string[] = [];
  const filter = new CsvRowFilter(ids, rule, (text) => out.push(text), result.found);
  const flush = () => {
    const text = out.join("");
    out.length = 0;
    return Buffer.from(text, "latin1");
  };
  for await (const chunk of source) {
    filter.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("latin1"));
    if (out.length > 0) yield flush();
  }
  filter.end();
  if (out.length > 0) yield flush();
  result.rowsRemoved = filter.rowsRemoved;
  result.rowsKept = filter.rowsKept;
}

/** Count the rows of forgotten customers in CSV bytes (already gunzipped). */
export async function countCsv(
  source: AsyncIterable<Uint8Array>,
  ids: ForgetIds,
  rule: CsvIdRule,
): Promise<PassResult> {
  const result: PassResult = { rowsRemoved: 0, rowsKept: 0, found: new Set() };
  for await (const _ of csvPass(source, ids, rule, result)) {
    // only counting
  }
  return result;
}

/** The CSV object without the forgotten customers' rows, as a byte stream (not yet gzipped). */
export function keptCsv(
  source: AsyncIterable<Uint8Array>,
  ids: ForgetIds,
  rule: CsvIdRule,
  result: PassResult,
): AsyncIterable<Uint8Array> {
  return csvPass(source, ids, rule, result);
}

/** What an Arrow intermediate holds: its schema, whether it has labels, and the rows that would go. */
export interface ArrowScan extends PassResult {
  dataset: DatasetSchema | null;
  withLabel: boolean;
}

/** Count the rows of forgotten customers in an ingest Arrow intermediate, one batch at a time. */
export async function countArrow(source: AsyncIterable<Uint8Array>, ids: ForgetIds): Promise<ArrowScan> {
  const scan: ArrowScan = { rowsRemoved: 0, rowsKept: 0, found: new Set(), dataset: null, withLabel: false };
  for await (const batch of readRowBatches(source, (schema) => {
    scan.dataset = schema;
  })) {
    if (batch.label) scan.withLabel = true;
    for (let i = 0; i < batch.numRows; i++) {
      const id = batch.ids[i]!;
      if (ids.hasText(id)) {
        scan.rowsRemoved++;
        scan.found.add(asLatin1(id.trim()));
      } else scan.rowsKept++;
    }
  }
  return scan;
}

/**
 * The Arrow intermediate without the forgotten customers' rows: same schema,
 * same batches in order (a batch left empty is dropped), streamed.
 */
export function keptArrow(
  source: AsyncIterable<Uint8Array>,
  ids: ForgetIds,
  dataset: DatasetSchema,
  withLabel: boolean,
): AsyncIterable<Uint8Array> {
  const writer = new ArrowStreamWriter(dataset, withLabel);
  const produce = async () => {
    for await (const batch of readRowBatches(source)) {
      const keep: number[] = [];
      for (let i = 0; i < batch.numRows; i++) if (!ids.hasText(batch.ids[i]!)) keep.push(i);
      const out: RowBatch = keep.length === batch.numRows ? batch : pickRows(batch, keep);
      await writer.write(out);
    }
    writer.end();
  };
  produce().catch((error: Error) => writer.destroy(error));
  return writer.readable;
}
