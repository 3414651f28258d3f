import { describe, expect, it } from "vitest";
import { InputError } from "../../common/errors.js";
import { fitBgNbd } from "./bgnbd.js";
import { bgnbdModel, parseLifetimeModel } from "./params.js";

describe("lifetime model document", () => {
  const fit = fitBgNbd([
    { frequency: 0, recency: 0, T: 10 },
    { frequency: 2, recency: 6, T: 10 },
    { frequency: 1, recency: 1, T: 9 },
    { frequency: 5, recency: 9, T: 10 },
    { frequency: 0, recency: 0, T: 8 },
  ]);

  it("round-trips through JSON", () => {
    const doc = bgnbdModel(fit, "week");
    const back = parseLifetimeModel(JSON.stringify(doc), "models/x.json");
    expect(back).toEqual(doc);
    expect(back.params).toEqual(fit.params);
  });

  it("rejects unknown keys, wrong formats and bad parameters with the source named", () => {
    const doc = bgnbdModel(fit, "week");
    expect(() => parseLifetimeModel({ ...doc, extra: 1 }, "m.json")).toThrow(InputError);
    expect(() => parseLifetimeModel({ ...doc, format: "churn-lifetime/0" }, "m.json")).toThrow(
      /m\.json is not a valid churn-lifetime\/1 model/,
    );
    expect(() => parseLifetimeModel({ ...doc, params: { ...doc.params, r: -1 } }, "m.json")).toThrow(
      InputError,
    );
    expect(() => parseLifetimeModel("{oops", "m.json")).toThrow(/m\.json is not valid JSON/);
  });
});
