import { describe, expect, it } from "vitest";
import { InputError } from "../../common/errors.js";
import { bgnbdExpectedPurchases, bgnbdProbAlive, fitBgNbd } from "./bgnbd.js";
import { bgnbdInferenceModel, loadLifetimeModel } from "./model.js";
import { bgnbdModel, LIFETIME_FORMAT } from "./params.js";

describe("lifetime model object", () => {
  const fit = fitBgNbd([
    { frequency: 0, recency: 0, T: 10 },
    { frequency: 2, recency: 6, T: 10 },
    { frequency: 1, recency: 1, T: 9 },
    { frequency: 5, recency: 9, T: 10 },
    { frequency: 0, recency: 0, T: 8 },
  ]);
  const histories = [
    { frequency: 2, recency: 6, T: 10 },
    { frequency: 0, recency: 0, T: 10 },
  ];

  it("loads a stored BG/NBD document, named by its file, and predicts as bgnbd.ts", () => {
    const text = JSON.stringify(bgnbdModel(fit, "week"));
    const model = loadLifetimeModel(text, "models/lifetime/lifetime-0123456789ab.json");
    expect(model).toMatchObject({ name: "lifetime", version: "lifetime-0123456789ab", timeUnit: "week" });
    expect(model.params).toEqual(fit.params);
    expect(model.predict(histories, 13)).toEqual(
      histories.map((h) => ({
        probAlive: bgnbdProbAlive(fit.params, h),
        expectedPurchases: bgnbdExpectedPurchases(fit.params, 13, h),
      })),
    );
  });

  it("refuses a Pareto/NBD document by name, and a damaged one naming the object", () => {
    const pareto = JSON.stringify({
      format: LIFETIME_FORMAT,
      model: "pareto-nbd",
      params: { r: 1, alpha: 1, s: 1, beta: 1 },
      time_unit: "week",
      fit: { log_likelihood: -1, customers: 5, penalizer: 0, converged: true },
    });
    expect(() => loadLifetimeModel(pareto, "models/lifetime/p.json")).toThrow(
      /p\.json: model "pareto-nbd" is not served by \/predict \(only bgnbd\)/,
    );
    expect(() => loadLifetimeModel("{", "models/lifetime/d.json")).toThrow(InputError);
  });

  it("keeps its own copy of the parameters", () => {
    const params = { ...fit.params };
    const model = bgnbdInferenceModel(params, "day", "v");
    params.r = 100;
    expect(model.params.r).toBe(fit.params.r);
    expect(model.predict(histories, 5)[0]!.probAlive).toBe(bgnbdProbAlive(fit.params, histories[0]!));
  });
});
