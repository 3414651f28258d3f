import { describe, expect, it } from "vitest";
import { Rng } from "../../common/random.js";
import { SparseHistograms } from "./histogram.js";

// Three features: a one-hot column (2 bins, mostly 0), a count whose mode is bin 2 of 5,
// and a column whose most frequent bin is its missing bin (last of 4).
const n = 500;
const d = 3;
const binOffset = Int32Array.from([0, 2, 7, 11]);
const rng = new Rng(5);
const binned = new Uint8Array(n * d);
for (let k = 0; k < n; k++) {
  binned[k * d] = rng.nextFloat() < 0.1 ? 1 : 0;
  binned[k * d + 1] = rng.nextFloat() < 0.6 ? 2 : rng.nextInt(5);
  binned[k * d + 2] = rng.nextFloat() < 0.7 ? 3 : rng.nextInt(3);
}
const grad = Float64Array.from({ length: n }, () => rng.nextFloat() - 0.5);
const hess = Float64Array.from({ length: n }, () => 0.05 + rng.nextFloat() * 0.2);

/** The histogram summed directly over every bin, the reference. */
function denseHistogram(rows: ArrayLike<number>): Float64Array {
  const hist = new Float64Array(binOffset[d] * 3);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k];
    for (let f = 0; f < d; f++) {
      const i = (binOffset[f] + binned[r * d + f]) * 3;
      hist[i] += grad[r];
      hist[i + 1] += hess[r];
      hist[i + 2] += 1;
    }
  }
  return hist;
}

/** Histograms over the test bins with these gradients and hessians, and `rows` as the row list. */
function histograms(rows: readonly number[]): SparseHistograms {
  const hx = new SparseHistograms(binned, n, d, binOffset, 2);
  for (let r = 0; r < n; r++) {
    hx.gh[2 * r] = grad[r];
    hx.gh[2 * r + 1] = hess[r];
  }
  hx.rows.set(rows);
  return hx;
}

function totals(rows: readonly number[]): [number, number] {
  let G = 0;
  let H = 0;
  for (const r of rows) {
    G += grad[r];
    H += hess[r];
  }
  return [G, H];
}

describe("sparse-aware histograms", () => {
  it("takes each feature's most frequent bin as its zero bin and stores only the other bins", () => {
    const hx = histograms([]);
    expect(Array.from(hx.zeroBin)).toEqual([0, 2, 3]);
    let expected = 0;
    for (let k = 0; k < n * d; k++) if (binned[k] !== hx.zeroBin[k % d]) expected++;
    expect(hx.entry.length).toBe(expected);
    expect(hx.start[n]).toBe(expected);
  });

  it("equals the directly summed histogram, zero bins derived from the leaf totals", () => {
    // A leaf: every third row and a few more, in ascending order, placed mid-list.
    const leaf = Array.from({ length: n }, (_, r) => r).filter((r) => r % 3 === 0 || r % 7 === 1);
    const hx = histograms([7, 7, ...leaf, 9]);
    hx.slots[1].fill(99); // stale values are cleared
    const [G, H] = totals(leaf);
    hx.accumulate(1, 2, leaf.length);
    hx.fillZeroBins(1, Int32Array.from([0, 1, 2]), d, G, H, leaf.length);
    const want = denseHistogram(leaf);
    const hist = hx.slots[1];
    for (let i = 0; i < want.length; i++) expect(hist[i]).toBeCloseTo(want[i], 10);
    for (let i = 2; i < want.length; i += 3) expect(hist[i]).toBe(want[i]);
    expect(Array.from(hx.slots[0]).every((v) => v === 0)).toBe(true); // other slots untouched
  });

  it("gives an empty zero bin exact zeros and leaves unsearched features' zero bins alone", () => {
    // Rows whose feature-1 bin is never the zero bin 2.
    const leaf = Array.from({ length: n }, (_, r) => r).filter((r) => binned[r * d + 1] !== 2);
    const hx = histograms(leaf);
    const [G, H] = totals(leaf);
    hx.accumulate(0, 0, leaf.length);
    hx.fillZeroBins(0, Int32Array.from([1]), 1, G, H, leaf.length);
    const hist = hx.slots[0];
    const z1 = (binOffset[1] + 2) * 3;
    expect([hist[z1], hist[z1 + 1], hist[z1 + 2]]).toEqual([0, 0, 0]);
    const z2 = (binOffset[2] + 3) * 3;
    expect(hist[z2 + 2]).toBe(0); // feature 2 not searched: its zero bin is not derived
  });

  it("partitions a leaf's rows stably by a split, the missing bin on either side", () => {
    const leaf = Array.from({ length: n }, (_, r) => r).filter((r) => r % 2 === 1);
    for (const missingLeft of [0, 1]) {
      const hx = histograms([3, ...leaf, 8]);
      // Feature 2: value bins 0..2, bin 3 is missing (and its zero bin); split at bin 0.
      const nl = hx.partition(1, leaf.length, 2, 0, 3, missingLeft);
      const goesLeft = (r: number) => (binned[r * d + 2] === 3 ? missingLeft === 1 : binned[r * d + 2] <= 0);
      const left = leaf.filter(goesLeft);
      expect(nl).toBe(left.length);
      expect(Array.from(hx.rows.subarray(0, leaf.length + 2))).toEqual([
        3,
        ...left,
        ...leaf.filter((r) => !goesLeft(r)),
        8,
      ]);
    }
  });

  it("hands the kernel memory to the newest fit and refuses to run an older one", () => {
    const older = histograms([1, 2, 3]);
    older.accumulate(0, 0, 3);
    const newer = histograms([1, 2, 3]);
    expect(Array.from(newer.slots[0]).every((v) => v === 0)).toBe(true); // no values left from the older
    expect(() => older.accumulate(0, 0, 3)).toThrow(/a later fit has taken over/);
    newer.accumulate(0, 0, 3);
  });
});
