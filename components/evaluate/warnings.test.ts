import { describe, expect, it } from "vitest";
import { suspiciousAucWarning } from "./warnings.js";

describe("suspicious held-out ROC-AUC", () => {
  it.each([
    [0.9951, "suspicious-roc-auc"],
    [1, "suspicious-roc-auc"],
    [0.995, null],
    [0.9, null],
    [null, null],
  ])("%s -> %s", (auc, code) => {
    expect(suspiciousAucWarning(auc, "gbdt abc")?.code ?? null).toBe(code);
  });

  it("names the model and the value", () => {
    expect(suspiciousAucWarning(0.9999, "gbdt 0123")!.message).toMatch(/gbdt 0123 reached ROC-AUC 0\.9999/);
  });
});
