import { describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { parseLease } from "./lease.js";

describe("lease documents", () => {
  it("reads a lease the runner wrote", () => {
    expect(parseLease('{"holder":"h/1/ab","acquired":1,"expires":2}', "runs/r/lease")).toEqual({
      holder: "h/1/ab",
      acquired: 1,
      expires: 2,
    });
  });

  it.each([
    ['{"holder":"h","acquired":1}', /runs\/r\/lease is not a valid lease: expires: /],
    ['{"holder":"h","acquired":1,"expires":"soon"}', /runs\/r\/lease is not a valid lease: expires: /],
    ['{"holder":"h","acquired":1,"expires":2,"extra":0}', /runs\/r\/lease is not a valid lease: .*extra/],
    ["{ half", /runs\/r\/lease is not valid JSON/],
  ])("names the object and the problem of a malformed lease %s", (text, message) => {
    expect(() => parseLease(text, "runs/r/lease")).toThrow(InputError);
    expect(() => parseLease(text, "runs/r/lease")).toThrow(message);
  });
});
