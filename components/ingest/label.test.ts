import { describe, expect, it } from "vitest";
import { parseConfig } from "../common/config/index.js";
import { InputError } from "../common/errors.js";
import { ingest, wrongPositiveMessage } from "./ingest.js";

const config = (positive: string) =>
  parseConfig({ id_column: "id", label: { column: "flag", positive } }, "test");

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

/** 10 existing and 4 attrited customers, as a history file would hold them. */
const HISTORY = `id,age,flag\n${Array.from({ length: 14 }, (_, i) => `${i},${30 + i},${i < 10 ? "Existing Customer" : "Attrited Customer"}`).join("\n")}\n`;

describe("a positive label value that is never seen", () => {
  it("lists every value seen with its count and suggests the near match (another letter case)", async () => {
    const run = ingest(bytes(HISTORY), {
      source: "input/h.csv",
      config: config("Attrited customer"),
      mode: "training",
    });
    await expect(run).rejects.toThrow(InputError);
    await expect(run).rejects.toThrow(
      'input/h.csv: the label column "flag" never holds the positive value "Attrited customer"; values seen: "Existing Customer" (10 rows), "Attrited Customer" (4 rows): did you mean label.positive: "Attrited Customer"?',
    );
  });

  it("suggests a value one typo away, and none when nothing is near", () => {
    const seen = new Map([
      ["No", 7],
      ["Yes", 3],
    ]);
    expect(wrongPositiveMessage("f.csv", { column: "churn", positive: "Yess" }, seen)).toContain(
      'did you mean label.positive: "Yes"?',
    );
    expect(wrongPositiveMessage("f.csv", { column: "churn", positive: "Churned" }, seen)).toBe(
      'f.csv: the label column "churn" never holds the positive value "Churned"; values seen: "No" (7 rows), "Yes" (3 rows); set label.positive in churn.yaml to one of them',
    );
  });

  it("accepts the file when the positive value is right", async () => {
    const result = await ingest(bytes(HISTORY), {
      source: "input/h.csv",
      config: config("Attrited Customer"),
      mode: "training",
    });
    expect(result).toMatchObject({ accepted: 14, rejected: 0 });
  });
});
