import { beforeAll, describe, expect, it } from "vitest";
import { rocAuc } from "../../common/data/metrics.js";
import { Rng } from "../../common/random.js";
import { fitLogistic, predictLogistic, sigmoid } from "../logistic/logistic.js";
import { explainMlp, pathBreakpoints } from "./explain.js";
import { type MlpModel, mlpLogit, parseMlpModel, predictMlp, trainMlp } from "./mlp.js";

// A small non-linear problem: churn when |x0| is large, which no linear score can rank.
const n = 400;
const d = 4;
const rng = new Rng(9);
const x = Float64Array.from({ length: n * d }, () => rng.nextGaussian());
const y = Uint8Array.from({ length: n }, (_, i) => {
  const z = Math.abs(x[i * d]) - 1 + 0.3 * rng.nextGaussian();
  return z > 0 ? 1 : 0;
});
const names = ["a", "b", "c", "d"];
const options = { seed: 42, hidden: [8, 4], maxEpochs: 40, batchSize: 32, learningRate: 0.01, patience: 5 };

let trained: MlpModel;
beforeAll(async () => {
  trained = await trainMlp(x, y, names, options);
});

describe("trainMlp", () => {
  it("same seed gives identical weights; another seed does not", async () => {
    const short = { ...options, maxEpochs: 4 };
    const first = await trainMlp(x, y, names, short);
    const again = await trainMlp(x, y, names, short);
    const other = await trainMlp(x, y, names, { ...short, seed: 43 });
    expect(again.layers).toEqual(first.layers);
    expect(again.training).toEqual(first.training);
    expect(other.layers).not.toEqual(first.layers);
    expect(trained.training.bestEpoch).toBeGreaterThan(0);
  });

  it("learns the non-linear signal a linear model misses", () => {
    const linear = rocAuc(y, predictLogistic(fitLogistic(x, y, names), x));
    const mlp = rocAuc(y, predictMlp(trained, x));
    expect(linear).toBeLessThan(0.65);
    expect(mlp).toBeGreaterThan(0.8);
  });
});

// A hand-made network, so inference and attribution are checked without training.
const handMade: MlpModel = {
  family: "mlp",
  features: ["u", "v"],
  layers: [
    { inputs: 2, outputs: 3, weights: [1, -1, 0.5, 2, 1, -1], bias: [0, 0.5, -0.25] },
    { inputs: 3, outputs: 2, weights: [1, -2, 0.5, 1, -1, 3], bias: [0.1, -0.2] },
    { inputs: 2, outputs: 1, weights: [1.5, -0.75], bias: [0.3] },
  ],
  baseline: [0.2, -0.1],
  training: { epochs: 0, bestEpoch: 0, validLogLoss: 0, seed: 0 },
};

describe("float64 inference", () => {
  it("computes the forward pass by hand", () => {
    // u=1, v=2: layer 1 = relu([1+4, -1+2+0.5, 0.5-2-0.25]) = [5, 1.5, 0]
    // layer 2 = relu([5·1 + 1.5·0.5 + 0.1, 5·(-2) + 1.5·1 - 0.2]) = [5.85, 0]
    // logit = 1.5·5.85 + 0.3 = 9.075
    expect(mlpLogit(handMade, [1, 2])).toBeCloseTo(9.075, 12);
    expect(predictMlp(handMade, Float64Array.of(1, 2))[0]).toBe(sigmoid(mlpLogit(handMade, [1, 2])));
  });

  it("a JSON round trip gives bit-identical scores", () => {
    const copy = JSON.parse(JSON.stringify(handMade)) as MlpModel;
    const pts = Float64Array.from({ length: 200 }, () => rng.nextGaussian() * 3);
    expect(Array.from(predictMlp(copy, pts))).toEqual(Array.from(predictMlp(handMade, pts)));
  });
});

describe("explainMlp (exact integrated gradients)", () => {
  const points = Array.from({ length: 50 }, () => [rng.nextGaussian() * 3, rng.nextGaussian() * 3]);
  it.each(points.map((p, i) => [i, p]))(
    "point %i: contributions sum to logit(x) - logit(baseline)",
    (_i, p) => {
      const a = explainMlp(handMade, p);
      const sum = a.contributions.reduce((s, c) => s + c, 0);
      expect(Math.abs(a.base + sum - mlpLogit(handMade, p))).toBeLessThan(1e-9);
    },
  );

  it.each([
    ["one hidden layer", handMade.layers.slice(1)],
    ["no hidden layer", handMade.layers.slice(2)],
  ])("holds completeness with %s", (_what, layers) => {
    const inputs = layers[0].inputs;
    const model: MlpModel = {
      ...handMade,
      layers,
      features: Array(inputs).fill("f"),
      baseline: Array(inputs).fill(0.3),
    };
    for (const p of points) {
      const row = Array.from({ length: inputs }, (_, j) => p[j % 2] * (j + 1));
      const a = explainMlp(model, row);
      const sum = a.contributions.reduce((s, c) => s + c, 0);
      expect(Math.abs(a.base + sum - mlpLogit(model, row))).toBeLessThan(1e-9);
    }
  });

  it("crosses ReLU kinks on the path (the case a single gradient gets wrong)", () => {
    const p = [3, -3];
    expect(pathBreakpoints(handMade, p).length).toBeGreaterThan(2);
  });

  it("matches a fine Riemann sum of gradients", () => {
    const p = [2.5, 1.7];
    const exact = explainMlp(handMade, p).contributions;
    // midpoint rule with central finite differences, 20000 steps
    const steps = 20000;
    const approx = [0, 0];
    const h = 1e-6;
    for (let s = 0; s < steps; s++) {
      const t = (s + 0.5) / steps;
      const q = handMade.baseline.map((b, j) => b + t * (p[j] - b));
      for (let j = 0; j < 2; j++) {
        const up = [...q];
        const down = [...q];
        up[j] += h;
        down[j] -= h;
        approx[j] += (mlpLogit(handMade, up) - mlpLogit(handMade, down)) / (2 * h) / steps;
      }
    }
    for (let j = 0; j < 2; j++) {
      expect(exact[j]).toBeCloseTo((p[j] - handMade.baseline[j]) * approx[j], 3);
    }
  });

  it("holds completeness on a trained network too", () => {
    const model = trained;
    for (let i = 0; i < 20; i++) {
      const a = explainMlp(model, x, i * d);
      const sum = a.contributions.reduce((s, c) => s + c, 0);
      expect(Math.abs(a.base + sum - mlpLogit(model, x, i * d))).toBeLessThan(1e-9);
    }
  });
});

describe("parseMlpModel", () => {
  it("accepts a model after a JSON round trip", () => {
    expect(parseMlpModel(JSON.parse(JSON.stringify(handMade)))).toEqual(handMade);
  });
  it.each([
    [
      "a weight list of the wrong size",
      (m: MlpModel) => m.layers[1].weights.pop(),
      /layers\[1\]\.weights: must have inputs × outputs = 6/,
    ],
    ["layers that do not chain", (m: MlpModel) => (m.layers[1].inputs = 4), /layers\[1\]/],
    ["two outputs", (m: MlpModel) => m.layers.pop(), /the last layer must have one output/],
  ])("rejects %s", (_what, damage, message) => {
    const copy = JSON.parse(JSON.stringify(handMade)) as MlpModel;
    damage(copy);
    expect(() => parseMlpModel(copy)).toThrow(message);
  });
});

describe("trainMlp on bad input", () => {
  it("fails clearly instead of storing a model with non-finite loss", async () => {
    const bad = Float64Array.from(x);
    bad.fill(Number.NaN, 0, 40);
    await expect(trainMlp(bad, y, names, { ...options, maxEpochs: 2 })).rejects.toThrow(
      /no finite validation loss/,
    );
  });
});
