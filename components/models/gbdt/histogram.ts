/**
 * Sparse-aware gradient histograms, in the style of LightGBM: each feature's
 * most frequent bin (its "zero bin": 0 of a one-hot column, the mode of a
 * count, or the missing bin) is never accumulated row by row. A histogram
 * sums only the other bins, then sets each zero bin to the leaf's totals
 * minus the feature's other bins. One-hot columns of a categorical then cost
 * one add per row (the level that is set) instead of one per column, and the
 * long runs of adds to one bin, which serialise on the same memory cell, are
 * gone. On the example matrix: 14.9 entries per row instead of 31.
 *
 * Layout: a histogram is a Float64Array of (gradient, hessian, count)
 * triples, feature f's bins at binOffset[f] .. binOffset[f + 1] - 1 (the
 * missing bin last). The rows' bins other than the zero bin are stored
 * row-major as CSR: row r's entries are entry[start[r] .. start[r + 1] - 1],
 * each the byte offset of its bin's triple in a histogram. The row sums are
 * the WebAssembly kernel of histogram-kernel.ts, so the arrays it reads
 * (entries, gradients, row lists, histograms) live in its memory.
 */
import { KernelMemory } from "./histogram-kernel.js";

/** Bytes of one histogram bin: gradient, hessian and count as doubles. */
const BIN_BYTES = 24;

/** Histograms of the rows of one training matrix, and the buffers they are built from. */
export class SparseHistograms {
  /** Per row r, its gradient at gh[2r] and hessian at gh[2r + 1] (written by the trainer). */
  readonly gh: Float64Array;
  /** Row lists (the trainer's leaf partitions): a leaf's rows are a range of it. */
  readonly rows: Uint32Array;
  /** Column-major bins for partitions, (row k, feature f) at f * n + k: a leaf's rows ascend,
   * so a partition walks one column monotonically. */
  private readonly columns: Uint8Array;
  private readonly rowTmp: Uint32Array;
  /** The histogram pool: numSlots histograms of binOffset[d] triples. */
  readonly slots: Float64Array[];
  /** Per feature, its most frequent bin (within the feature, missing bin included). */
  readonly zeroBin: Int32Array;
  /** Row r's entries are entry[start[r]] .. entry[start[r + 1] - 1]; length rows + 1. */
  readonly start: Uint32Array;
  /** Byte offset of the entry's (gradient, hessian, count) triple in a histogram. */
  readonly entry: Uint32Array;
  private readonly memory: KernelMemory;

  /**
   * The sparse layout of row-major bins (n rows × d features, bin (k, f) at
   * k * d + f; feature f has binOffset[f + 1] - binOffset[f] bins) and
   * numSlots histograms. Ties for the most frequent bin go to the lowest bin.
   */
  constructor(
    binned: Uint8Array,
    private readonly n: number,
    d: number,
    private readonly binOffset: Int32Array,
    numSlots: number,
  ) {
    const counts = new Uint32Array(binOffset[d]);
    for (let k = 0; k < n; k++) {
      const base = k * d;
      for (let f = 0; f < d; f++) counts[binOffset[f] + binned[base + f]]++;
    }
    this.zeroBin = new Int32Array(d);
    let nnz = 0;
    for (let f = 0; f < d; f++) {
      let best = 0;
      for (let b = 1; b < binOffset[f + 1] - binOffset[f]; b++) {
        if (counts[binOffset[f] + b] > counts[binOffset[f] + best]) best = b;
      }
      this.zeroBin[f] = best;
      nnz += n - counts[binOffset[f] + best];
    }
    const histLength = binOffset[d] * 3;
    const size = (len: number, bytes: number) => KernelMemory.size(len, bytes);
    this.memory = new KernelMemory(
      size(2 * n, 8) +
        2 * size(n, 4) +
        size(n * d, 1) +
        size(n + 1, 4) +
        size(nnz, 4) +
        numSlots * size(histLength, 8),
    );
    this.gh = this.memory.f64(2 * n);
    this.rows = this.memory.u32(n);
    this.rowTmp = this.memory.u32(n);
    this.columns = this.memory.u8(n * d);
    for (let k = 0; k < n; k++) for (let f = 0; f < d; f++) this.columns[f * n + k] = binned[k * d + f];
    this.start = this.memory.u32(n + 1);
    this.entry = this.memory.u32(nnz);
    this.slots = [];
    for (let s = 0; s < numSlots; s++) this.slots.push(this.memory.f64(histLength));
    const { start, entry, zeroBin } = this;
    let e = 0;
    for (let k = 0; k < n; k++) {
      start[k] = e;
      const base = k * d;
      for (let f = 0; f < d; f++) {
        const b = binned[base + f];
        if (b !== zeroBin[f]) entry[e++] = (binOffset[f] + b) * BIN_BYTES;
      }
    }
    start[n] = e;
  }

  /**
   * Histogram slot `slot` := the sums of rows[from .. from + count - 1] over
   * their non-zero bins, in that row order. Every bin is cleared first, so
   * bins of features that are not searched this round hold sums too (cheaper
   * than skipping them entry by entry); their zero bins are not set.
   */
  accumulate(slot: number, from: number, count: number): void {
    const hist = this.slots[slot];
    hist.fill(0);
    const at = this.rows.byteOffset + 4 * from;
    this.memory.accumulate(
      hist.byteOffset,
      at,
      at + 4 * count,
      this.start.byteOffset,
      this.entry.byteOffset,
      this.gh.byteOffset,
    );
  }

  /**
   * Stable partition of rows[from .. from + count - 1] by feature f: first
   * the rows going left (missingLeft for the missing bin, else bin at most
   * `bin`), then the others. Returns how many went left.
   */
  partition(
    from: number,
    count: number,
    f: number,
    bin: number,
    missingBin: number,
    missingLeft: number,
  ): number {
    const at = this.rows.byteOffset + 4 * from;
    const nl = this.memory.partition(
      this.columns.byteOffset + f * this.n,
      at,
      at + 4 * count,
      this.rowTmp.byteOffset,
      bin,
      missingBin,
      missingLeft,
    );
    this.rows.set(this.rowTmp.subarray(0, count - nl), from + nl);
    return nl;
  }

  /**
   * Sets the zero bin of each of features[0 .. numFeatures - 1] in slot
   * `slot` to the leaf's totals (G, H, C) minus the feature's other bins.
   */
  fillZeroBins(
    slot: number,
    features: Int32Array,
    numFeatures: number,
    G: number,
    H: number,
    C: number,
  ): void {
    const hist = this.slots[slot];
    const { zeroBin, binOffset } = this;
    for (let j = 0; j < numFeatures; j++) {
      const f = features[j];
      const z = (binOffset[f] + zeroBin[f]) * 3;
      let g = 0;
      let h = 0;
      let c = 0;
      const end = binOffset[f + 1] * 3;
      for (let i = binOffset[f] * 3; i < end; i += 3) {
        g += hist[i];
        h += hist[i + 1];
        c += hist[i + 2];
      }
      // The zero bin itself holds 0 here (accumulate never adds to it). A
      // zero bin without rows gets exact zeros, not the rounding left of G - g.
      const cz = C - c;
      hist[z] = cz > 0 ? G - g : 0;
      hist[z + 1] = cz > 0 ? H - h : 0;
      hist[z + 2] = cz;
    }
  }
}
