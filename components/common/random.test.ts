import { describe, expect, it } from "vitest";
import { Rng } from "./random.js";

describe("Rng", () => {
  it("repeats the same stream for the same seed and differs for another", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 20 }, () => a.nextUint32());
    const sb = Array.from({ length: 20 }, () => b.nextUint32());
    const sc = Array.from({ length: 20 }, () => c.nextUint32());
    expect(sa).toEqual(sb);
    expect(sa).not.toEqual(sc);
    expect(new Rng(2 ** 40).nextUint32()).not.toBe(new Rng(0).nextUint32());
  });

  it("draws floats in [0,1) and unbiased integers in [0,n)", () => {
    const r = new Rng(1);
    const counts = new Array(6).fill(0);
    let sum = 0;
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < 60_000; i++) {
      const f = r.nextFloat();
      lo = Math.min(lo, f);
      hi = Math.max(hi, f);
      sum += f;
      counts[r.nextInt(6)]++;
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / 60_000 - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(400);
    expect(() => r.nextInt(0)).toThrow(RangeError);
    expect(() => new Rng(Number.NaN)).toThrow(RangeError);
  });

  it("gives standard normals", () => {
    const r = new Rng(5);
    let s = 0;
    let s2 = 0;
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const g = r.nextGaussian();
      s += g;
      s2 += g * g;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.03);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.03);
  });

  it("shuffles into a permutation, deterministically", () => {
    const a = new Rng(9).shuffle(Array.from({ length: 50 }, (_, i) => i));
    const b = new Rng(9).shuffle(new Int32Array(Array.from({ length: 50 }, (_, i) => i)));
    expect(Array.from(b)).toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("forks independent deterministic children", () => {
    const p1 = new Rng(3);
    const p2 = new Rng(3);
    expect(p1.fork().nextUint32()).toBe(p2.fork().nextUint32());
    expect(p1.fork().nextUint32()).not.toBe(p1.fork().nextUint32());
  });
});
