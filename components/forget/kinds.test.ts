import { describe, expect, it } from "vitest";
import { checkOnly, isJsonName, kindOf, ruleFor, skipped, streamKind } from "./kinds.js";

const utf8 = (text: string) => Buffer.from(text, "utf8");

describe("which objects forget reads, and how", () => {
  it.each([
    ["weekly/w1.csv", "text,x", "csv"],
    ["input/h.TSV.gz", "a\tb", "csv"],
    ["runs/r/steps/s/rows.arrow", "", "arrow"],
    ["runs/r/x.bin", "\xff\xff\xff\xff\x10\x00\x00\x00", "arrow"],
    ["runs/r/steps/s/output.json", "{", "json"],
    ["runs/r/steps/s/log.txt", '{"a": 1}', "json"],
    ["runs/r/steps/s/log.txt", "{ not json", "text"],
    ["runs/r/steps/s/blob", "\u0000\u0001\u0002binary", "binary"],
  ])("kindOf(%j, %j) is %s", (name, content, kind) => {
    expect(kindOf(name, Buffer.from(content, "latin1"))).toBe(kind);
  });

  it("streams CSV and Arrow by name only, and sends .json(.gz) to the JSON phase", () => {
    expect(streamKind("weekly/w1.csv.gz")).toBe("csv");
    expect(streamKind("runs/r/rows.ARROWS")).toBe("arrow");
    expect(streamKind("runs/r/x.bin")).toBeNull();
    expect(isJsonName("monitoring/realised.JSON.gz")).toBe(true);
    expect(isJsonName("runs/r/log.txt")).toBe(false);
    expect(kindOf("x.json", utf8("[]"))).toBe("json");
  });

  it("skips its own records, the config and leases, and only checks models", () => {
    expect(skipped("forget/2026.json")).toBe(true);
    expect(skipped("churn.yaml")).toBe(true);
    expect(skipped("runs/r-0123456789abcdef/lease")).toBe(true);
    expect(skipped("runs/r-0123456789abcdef/steps/s/lease")).toBe(false);
    expect(skipped("weekly/w1.csv")).toBe(false);
    expect(checkOnly("models/v1/bundle.json")).toBe(true);
    expect(checkOnly("output/models/x.json")).toBe(false);
  });

  it("reads labels files by their first column, whatever their header says", () => {
    const rule = { idColumns: ["customer_id"], firstColumnIsId: false };
    expect(ruleFor("labels/w1.csv", rule)).toEqual({ ...rule, firstColumnIsId: true });
    expect(ruleFor("weekly/w1.csv", rule)).toBe(rule);
  });
});
