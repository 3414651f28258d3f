import { describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { parseInputDoc } from "./run.js";
import { STEP_DOC_VERSION } from "./spec.js";

const where = "runs/r-0123456789abcdef/steps/ingest-history/input.json";
const valid = {
  version: STEP_DOC_VERSION,
  component: "ingest",
  run: "r",
  step: "ingest-history",
  inputs: {},
};

describe("a step's input document", () => {
  it("reads a valid one, parameters defaulting to none", () => {
    expect(parseInputDoc(JSON.stringify(valid), where)).toEqual({ ...valid, parameters: {} });
  });

  it.each([
    ["cut off", '{"version": 1, "comp', /is not valid JSON/],
    [
      "of the wrong shape",
      JSON.stringify({ ...valid, inputs: { data: [{ object: 1 }] } }),
      /inputs\.data\[0\]\.object: /,
    ],
    [
      "with an unknown key",
      JSON.stringify({ ...valid, extra: true }),
      /is not a valid step input document: .*extra/,
    ],
  ])("refuses one %s, naming the object", (_what, text, message) => {
    expect(() => parseInputDoc(text, where)).toThrow(InputError);
    expect(() => parseInputDoc(text, where)).toThrow(message);
    expect(() => parseInputDoc(text, where)).toThrow(where);
  });
});
