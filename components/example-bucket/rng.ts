/**
 * A small seeded PRNG so example data is byte-identical for the same seed on
 * every machine and Node version (Math.random cannot be seeded). sfc32 is
 * fast on 32-bit integer arithmetic, passes PractRand far beyond what example
 * data needs, and is seeded through splitmix32 so nearby seeds give unrelated
 * streams.
 */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Standard normal (mean 0, sd 1). */
  normal(): number;
  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** Index drawn with probability proportional to `weights` (cumulative table from `cumulative`). */
  pick(cumulativeWeights: Float64Array): number;
}

/** splitmix32: spreads a 32-bit state into a well-mixed 32-bit output. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

/** Turn weights into a cumulative table normalised to 1, for `Rng.pick`. */
export function cumulative(weights: readonly number[]): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i]! / total;
    out[i] = sum;
  }
  out[out.length - 1] = 1;
  return out;
}

/** A seeded generator; `keys` (e.g. seed and stream number) are mixed into the starting state. */
export function createRng(...keys: number[]): Rng {
  let mix = 0x6a09e667;
  for (const key of keys) {
    // Fold both 32-bit halves so seeds above 2^32 still matter.
    const low = key >>> 0;
    const high = Math.floor(key / 0x100000000) >>> 0;
    [mix] = splitmix32(mix ^ low);
    [mix] = splitmix32(mix ^ high);
  }
  let a: number;
  let b: number;
  let c: number;
  [mix, a] = splitmix32(mix);
  [mix, b] = splitmix32(mix);
  [mix, c] = splitmix32(mix);
  let d = 1;
  const u32 = (): number => {
    // sfc32
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Warm up: the first outputs of sfc32 are still correlated with the seed.
  for (let i = 0; i < 12; i++) u32();
  let spare = Number.NaN;
  const next = (): number => u32() / 0x100000000;
  return {
    next,
    normal(): number {
      // Box-Muller, caching the second value.
      if (!Number.isNaN(spare)) {
        const cached = spare;
        spare = Number.NaN;
        return cached;
      }
      let u = next();
      while (u === 0) u = next();
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    int(min: number, max: number): number {
      return min + Math.floor(next() * (max - min + 1));
    },
    pick(table: Float64Array): number {
      const u = next();
      for (let i = 0; i < table.length; i++) if (u < table[i]!) return i;
      return table.length - 1;
    },
  };
}
