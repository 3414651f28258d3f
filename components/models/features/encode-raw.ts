import { InputError } from "../../common/errors.js";
import { isNullAt, type RawBatch, type RawUtf8, utf8At } from "../../common/schema/raw-batch.js";
import {
  type ColumnEncoder,
  encodeColumnInto,
  encodeLevelInto,
  encoderWidth,
  type FeatureTransform,
  failAtLine,
  levelCode,
  MISSING_CODE,
} from "./transform.js";

/**
 * The feature transform over raw Arrow buffers (scoring's input): the same
 * numbers as encodeBatchInto on the decoded rows, without making a string per
 * categorical value. A value's level is found from its UTF-8 bytes through a
 * small hash table of the distinct byte strings seen so far, each resolved
 * once by the very function the row path uses (levelCode), so both paths
 * agree by construction; the equality is also tested.
 */

type LevelEncoder = ColumnEncoder & { kind: "onehot" | "frequency" };

/** Distinct byte strings a column's table keeps; past it, values resolve by decoding (ids, free text). */
const MAX_DISTINCT = 4096;
/** Slots of the open-addressing table: a power of two, at most half full. */
const SLOTS = 2 * MAX_DISTINCT;

/**
 * Byte strings of one column to level codes. Why not a Map<string, number>:
 * that needs a string per row, which is most of the cost this module removes.
 */
class LevelTable {
  private readonly slots = new Int32Array(SLOTS).fill(-1);
  private readonly hashes: number[] = [];
  private readonly keys: Uint8Array[] = [];
  private readonly codes: number[] = [];

  constructor(private readonly encoder: LevelEncoder) {}

  code(column: RawUtf8, i: number): number {
    if (isNullAt(column, i)) return MISSING_CODE;
    const { bytes, offsets } = column;
    const a = offsets[i]!;
    const b = offsets[i + 1]!;
    // FNV-1a over the bytes.
    let h = 0x811c9dc5;
    for (let k = a; k < b; k++) h = Math.imul(h ^ bytes[k]!, 0x01000193);
    let slot = h & (SLOTS - 1);
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === -1) break;
      if (this.hashes[entry] === h && sameBytes(this.keys[entry]!, bytes, a, b)) return this.codes[entry]!;
      slot = (slot + 1) & (SLOTS - 1);
    }
    const code = levelCode(this.encoder, utf8At(column, i));
    if (this.keys.length < MAX_DISTINCT) {
      this.slots[slot] = this.keys.length;
      this.hashes.push(h);
      this.keys.push(bytes.slice(a, b));
      this.codes.push(code);
    }
    return code;
  }
}

function sameBytes(key: Uint8Array, bytes: Uint8Array, a: number, b: number): boolean {
  if (key.length !== b - a) return false;
  for (let k = 0; k < key.length; k++) if (key[k] !== bytes[a + k]) return false;
  return true;
}

/** Per-encoder tables, kept across the batches of one stream (the distinct values repeat). */
export class RawEncoder {
  private readonly tables = new Map<ColumnEncoder, LevelTable>();
  readonly numFeatures: number;

  constructor(private readonly transform: FeatureTransform) {
    this.numFeatures = transform.features.length;
  }

  /** Encodes a raw batch into `out` (row-major, at least numRows × features); errors name the source line. */
  encodeInto(raw: RawBatch, out: Float64Array): Float64Array {
    const d = this.numFeatures;
    const n = raw.numRows;
    let start = 0;
    for (const e of this.transform.encoders) {
      const column = raw.columns[e.column];
      if (column === undefined) throw new InputError(`the rows have no feature column "${e.column}"`);
      if (!(column instanceof Float64Array) && (e.kind === "onehot" || e.kind === "frequency")) {
        const table = this.tables.get(e) ?? new LevelTable(e);
        this.tables.set(e, table);
        for (let i = 0, at = start; i < n; i++, at += d) encodeLevelInto(e, table.code(column, i), out, at);
      } else {
        // Every other pairing (numbers, dates, or a type mismatch that must fail
        // with the row path's message) goes through the row path's encoder.
        const values =
          column instanceof Float64Array ? column : Array.from({ length: n }, (_, i) => utf8At(column, i));
        encodeColumnInto(e, values, n, out, d, start, failAtLine(raw.lines));
      }
      start += encoderWidth(e);
    }
    return out;
  }
}
