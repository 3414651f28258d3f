import { describe, expect, it } from "vitest";
import { logLoss, rocAuc } from "../common/data/metrics.js";
import { Rng } from "../common/random.js";
import {
  calibrate,
  calibrateAll,
  fitCalibration,
  fitIsotonic,
  fitPlatt,
  parseCalibrator,
} from "./calibration.js";

describe("isotonic regression (PAV)", () => {
  it("pools violators like scikit-learn's IsotonicRegression", () => {
    // sklearn 1.9.1 IsotonicRegression().fit(p, y).predict(p) on this data gives
    // [0, 1/3, 1/3, 1/3, 0.5, 0.5, 1, 1]
    const p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
    const y = [0, 1, 0, 0, 1, 0, 1, 1];
    const c = fitIsotonic(p, y);
    if (c.kind !== "isotonic") throw new Error("expected isotonic");
    expect(c.x).toEqual([0.1, (0.2 + 0.3 + 0.4) / 3, (0.5 + 0.6) / 2, (0.7 + 0.8) / 2]);
    expect(c.y.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.000001, 0.333333, 0.5, 0.999999]);
    // at block centres it returns the block means; between them it interpolates
    expect(calibrate(c, 0.55)).toBe(0.5);
    expect(calibrate(c, 0.65)).toBeCloseTo(0.75, 5); // halfway from 0.5 to 0.999999
    expect(calibrate(c, 0)).toBe(c.y[0]);
    expect(calibrate(c, 1)).toBe(c.y[3]);
  });

  it("is monotone non-decreasing everywhere", () => {
    const rng = new Rng(5);
    const p = Array.from({ length: 300 }, () => rng.nextFloat());
    const y = p.map((q) => (rng.nextFloat() < q * q ? 1 : 0));
    const c = fitIsotonic(p, y);
    let prev = -1;
    for (let q = 0; q <= 1; q += 0.001) {
      const v = calibrate(c, q);
      expect(v).toBeGreaterThanOrEqual(prev);
      prev = v;
    }
  });
});

describe("Platt scaling", () => {
  it("recovers a known distortion of the log-odds", () => {
    // true probability σ(2·logit(p) − 1): Platt's model family contains it
    const rng = new Rng(11);
    const p = Array.from({ length: 4000 }, () => 0.05 + 0.9 * rng.nextFloat());
    const y = p.map((q) => (rng.nextFloat() < 1 / (1 + Math.exp(-(2 * Math.log(q / (1 - q)) - 1))) ? 1 : 0));
    const c = fitPlatt(p, y);
    if (c.kind !== "platt") throw new Error("expected platt");
    expect(c.a).toBeGreaterThan(1.8);
    expect(c.a).toBeLessThan(2.2);
    expect(c.b).toBeGreaterThan(-1.2);
    expect(c.b).toBeLessThan(-0.8);
  });

  it("never inverts an anti-correlated score", () => {
    const c = fitPlatt([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]);
    if (c.kind !== "platt") throw new Error("expected platt");
    expect(c.a).toBe(0);
  });
});

describe("fitCalibration", () => {
  const rng = new Rng(21);
  // over-confident raw scores: the truth is much flatter than p
  const p = Array.from({ length: 3000 }, () => rng.nextFloat());
  const y = p.map((q) => (rng.nextFloat() < 0.2 + 0.3 * q ? 1 : 0));

  it("lowers the log loss and keeps the ranking", () => {
    const choice = fitCalibration(p, y, { seed: 1 });
    const calibrated = calibrateAll(choice.calibrator, p);
    expect(logLoss(y, calibrated)).toBeLessThan(logLoss(y, p));
    expect(Math.abs(rocAuc(y, calibrated) - rocAuc(y, p))).toBeLessThan(0.002);
    expect(choice.logLoss.isotonic).not.toBeNull();
    expect(JSON.parse(JSON.stringify(choice.calibrator))).toEqual(choice.calibrator);
  });

  it("uses Platt without trying isotonic on few positives", () => {
    const few = fitCalibration(p.slice(0, 100), y.slice(0, 100), { minIsotonicPositives: 50 });
    expect(few.calibrator.kind).toBe("platt");
    expect(few.logLoss.isotonic).toBeNull();
  });

  it("picks isotonic when the distortion is not a sigmoid shape", () => {
    // a step function of p: Platt cannot bend that far
    const step = p.map((q) => (rng.nextFloat() < (q > 0.5 ? 0.9 : 0.05) ? 1 : 0));
    expect(fitCalibration(p, step, { seed: 2 }).calibrator.kind).toBe("isotonic");
  });
});

describe("parseCalibrator", () => {
  it("accepts what the fitters produce, after a JSON round trip", () => {
    const rng = new Rng(2);
    const p = Array.from({ length: 500 }, () => Math.round(rng.nextFloat() * 20) / 20); // many ties
    const y = p.map((q) => (rng.nextFloat() < q ? 1 : 0));
    for (const c of [fitIsotonic(p, y), fitPlatt(p, y)]) {
      expect(parseCalibrator(JSON.parse(JSON.stringify(c)))).toEqual(c);
    }
  });
  it.each([
    [{ kind: "platt", a: -1, b: 0 }, /a: must be >= 0/],
    [{ kind: "isotonic", x: [0.1, 0.1], y: [0.2, 0.3] }, /x\[1\]: knots must increase/],
    [{ kind: "isotonic", x: [0.1, 0.2], y: [0.3, 0.2] }, /y\[1\]: values must not decrease/],
    [{ kind: "spline" }, /calibration is not a valid calibrator/],
  ])("rejects %j", (value, message) => {
    expect(() => parseCalibrator(value)).toThrow(message);
  });
});
