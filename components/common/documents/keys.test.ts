import { describe, expect, it } from "vitest";
import { SNAKE_KEY, snakeKey, snakeKeys } from "./keys.js";

describe("snakeKey", () => {
  it("renames camelCase keys, acronyms included", () => {
    expect(snakeKey("rowsIn")).toBe("rows_in");
    expect(snakeKey("cvRocAuc")).toBe("cv_roc_auc");
    expect(snakeKey("minRocAuc")).toBe("min_roc_auc");
    expect(snakeKey("rocAUC")).toBe("roc_auc");
    expect(snakeKey("top10Lift")).toBe("top10_lift");
    for (const key of ["rowsIn", "cvRocAuc", "rocAUC", "stoppedEarly"])
      expect(snakeKey(key)).toMatch(SNAKE_KEY);
  });

  it("leaves snake_case keys and names that are not camelCase identifiers alone", () => {
    for (const key of [
      "rows_in",
      "run_id",
      "Total_Trans_Ct",
      "CLIENTNUM",
      "T",
      "output/2026-W48/",
      "_SUCCESS",
    ])
      expect(snakeKey(key)).toBe(key);
  });
});

describe("snakeKeys", () => {
  it("renames keys at every depth, in arrays too, and keeps values", () => {
    const out = snakeKeys({
      exitCode: 0,
      steps: [{ counts: { rowsIn: 5, trainingRows: 4 }, name: "firstRejects" }],
      nested: { deeper: { missingTokens: ["Unknown"] } },
      at: new Date("2026-01-02T00:00:00Z"),
    });
    expect(out).toEqual({
      exit_code: 0,
      steps: [{ counts: { rows_in: 5, training_rows: 4 }, name: "firstRejects" }],
      nested: { deeper: { missing_tokens: ["Unknown"] } },
      at: "2026-01-02T00:00:00.000Z",
    });
  });

  it("keeps the keys of data-keyed records (column names, reject reasons) as written", () => {
    expect(snakeKeys({ labels: { totalTransCt: "transactions", Card_Category: "card" } })).toEqual({
      labels: { totalTransCt: "transactions", Card_Category: "card" },
    });
    expect(snakeKeys({ rowsIn: 4, reasons: { "empty id": 1, notANumber: 2 } })).toEqual({
      rows_in: 4,
      reasons: { "empty id": 1, notANumber: 2 },
    });
  });
});
