import type { ComponentContext } from "../component/spec.js";
import { InputError } from "../errors.js";
import { readRowBatches } from "../schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../schema/types.js";
import { stratifiedSplit, type TrainValidSplit } from "./cv.js";

/**
 * Shared plumbing of the training steps (feature, train, evaluate): read
 * ingest's Arrow rows into one batch, and the held-out validation split that
 * all three derive the same way from the labels and the seed, so feature and
 * train never see the rows evaluate judges on.
 */

/** Share of the labelled history held out for evaluate and the gate. */
export const HOLDOUT_SHARE = 0.2;

/** The held-out split of labelled rows (stratified, seeded). */
export function holdoutSplit(label: Uint8Array, seed: number): TrainValidSplit {
  return stratifiedSplit(label, HOLDOUT_SHARE, seed);
}

/** Concatenates batches into one (training sets fit in memory; scoring streams instead). */
export function concatBatches(batches: RowBatch[]): RowBatch {
  const n = batches.reduce((s, b) => s + b.numRows, 0);
  const first = batches[0];
  const lines = new Uint32Array(n);
  const ids: string[] = new Array(n);
  const label = first?.label ? new Uint8Array(n) : undefined;
  const columns: RowBatch["columns"] = {};
  for (const [name, c] of Object.entries(first?.columns ?? {}))
    columns[name] = c instanceof Float64Array ? new Float64Array(n) : new Array<string | null>(n);
  let at = 0;
  for (const b of batches) {
    lines.set(b.lines.subarray(0, b.numRows), at);
    for (let i = 0; i < b.numRows; i++) ids[at + i] = b.ids[i]!;
    if (label && b.label) label.set(b.label.subarray(0, b.numRows), at);
    for (const [name, c] of Object.entries(b.columns)) {
      const out = columns[name]!;
      if (out instanceof Float64Array) out.set((c as Float64Array).subarray(0, b.numRows), at);
      else for (let i = 0; i < b.numRows; i++) out[at + i] = (c as Array<string | null>)[i] ?? null;
    }
    at += b.numRows;
  }
  return { numRows: n, lines, ids, columns, label };
}

/** Rows i of a batch, in the given order. */
export function selectRows(batch: RowBatch, rows: ArrayLike<number>): RowBatch {
  const n = rows.length;
  const columns: RowBatch["columns"] = {};
  for (const [name, c] of Object.entries(batch.columns)) {
    if (c instanceof Float64Array) columns[name] = Float64Array.from({ length: n }, (_, k) => c[rows[k]!]!);
    else columns[name] = Array.from({ length: n }, (_, k) => c[rows[k]!] ?? null);
  }
  return {
    numRows: n,
    lines: Uint32Array.from({ length: n }, (_, k) => batch.lines[rows[k]!]!),
    ids: Array.from({ length: n }, (_, k) => batch.ids[rows[k]!]!),
    columns,
    label: batch.label ? Uint8Array.from({ length: n }, (_, k) => batch.label![rows[k]!]!) : undefined,
  };
}

/** Reads ingest's labelled rows (rows.arrow) into one batch, with the schema it carries. */
export async function readLabelledRows<P>(
  ctx: ComponentContext<P>,
  port = "rows",
): Promise<{ batch: RowBatch; schema: DatasetSchema }> {
  const ref = ctx.inputs[port]![0]!;
  let schema: DatasetSchema | null = null;
  const batches: RowBatch[] = [];
  for await (const b of readRowBatches(ctx.openInput(ref), (s) => {
    schema = s;
  }))
    batches.push(b);
  const batch = concatBatches(batches);
  if (!schema) throw new InputError(`${ref.object} carries no schema`);
  if (batch.numRows > 0 && !batch.label)
    throw new InputError(`${ref.object} has no labels: ingest it with mode training`);
  return { batch, schema };
}
