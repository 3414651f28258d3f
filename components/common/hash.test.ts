import { describe, expect, it } from "vitest";
import { canonicalJson, hashJson, sha256Hex } from "./hash.js";

describe("canonical JSON and hashes", () => {
  it("sorts keys at every depth and drops undefined", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
  it("gives the same hash whatever the key order", () => {
    expect(hashJson({ x: 1, y: [1, 2] })).toBe(hashJson({ y: [1, 2], x: 1 }));
    expect(hashJson({ x: 1 })).not.toBe(hashJson({ x: 2 }));
  });
  it("matches the known sha256 of 'abc'", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
