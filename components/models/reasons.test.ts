import { describe, expect, it } from "vitest";
import type { ColumnEncoder, RawValue } from "./features/transform.js";
import {
  columnLabel,
  formatContribution,
  formatReasonNumber,
  reasonSentence,
  rowReasons,
} from "./reasons.js";

const stats = { median: 65, q1: 40, q3: 80, scale: 40 };
const encoders: ColumnEncoder[] = [
  { kind: "numeric", column: "Total_Trans_Ct", stats, missingIndicator: true },
  { kind: "onehot", column: "Card_Category", levels: ["Blue", "Gold"] },
  { kind: "boolean", column: "has_app", fill: 0, missingIndicator: false },
  {
    kind: "numeric",
    column: "Total_Revolving_Bal",
    stats: { ...stats, median: 1276.5 },
    missingIndicator: false,
  },
  { kind: "date", column: "signup", parts: ["year"], stats: [stats], missingIndicator: false },
];
const row: Record<string, RawValue> = {
  Total_Trans_Ct: 32,
  Card_Category: "Blue",
  has_app: 1,
  Total_Revolving_Bal: 2517.25,
  signup: Date.UTC(2024, 2, 15),
};
const value = (column: string) => row[column] ?? null;

describe("formatReasonNumber", () => {
  it.each([
    [32, "32"],
    [65.5, "65.5"],
    [1.23456, "1.235"],
    [34516, "34520"],
    [2517.25, "2517"],
    [-0.5, "-0.5"],
    [0, "0"],
    [-0, "0"],
    [0.000123456, "0.0001235"],
    [1.5e-9, "0.0000000015"],
    [1.234e22, "12340000000000000000000"],
    [1e21, "1000000000000000000000"],
  ])("%d prints as %s (4 significant digits, no exponent)", (v, text) => {
    expect(formatReasonNumber(v)).toBe(text);
  });
});

describe("reason sentences", () => {
  it("labels from churn.yaml, else the column name with spaces; the first letter capitalised", () => {
    const labels = { Total_Trans_Ct: "transactions in 12 months" };
    expect(columnLabel("Total_Trans_Ct", labels)).toBe("Transactions in 12 months");
    expect(columnLabel("Card_Category", labels)).toBe("Card Category");
    expect(columnLabel("tenure", {})).toBe("Tenure");
    // A column called like an Object.prototype member is not taken for a label.
    expect(columnLabel("constructor", {})).toBe("Constructor");
  });

  it("numbers show the value and the training median, categories the value", () => {
    const labels = { Total_Trans_Ct: "transactions in 12 months", Card_Category: "card category" };
    expect(reasonSentence(encoders[0]!, 32, labels)).toBe("Transactions in 12 months: 32 (typical 65)");
    expect(reasonSentence(encoders[1]!, "Blue", labels)).toBe("Card category: Blue");
    expect(reasonSentence(encoders[2]!, 1, {})).toBe("Has app: yes");
    expect(reasonSentence(encoders[3]!, 2517.25, {})).toBe("Total Revolving Bal: 2517 (typical 1277)");
    expect(reasonSentence(encoders[4]!, Date.UTC(2024, 2, 15), {})).toBe("Signup: 2024-03-15");
    expect(reasonSentence(encoders[0]!, Number.NaN, {})).toBe("Total Trans Ct: missing");
  });
});

describe("rowReasons", () => {
  it("keeps only contributions that raise the risk, strongest first, and their codes", () => {
    const bySource = [0.84, -0.3, 0, 0.41, 0.05];
    const reasons = rowReasons(encoders, bySource, value, 3, { Total_Trans_Ct: "transactions in 12 months" });
    expect(reasons.texts).toEqual([
      "Transactions in 12 months: 32 (typical 65)",
      "Total Revolving Bal: 2517 (typical 1277)",
      "Signup: 2024-03-15",
    ]);
    expect(reasons.codes).toBe("Total_Trans_Ct:+0.84;Total_Revolving_Bal:+0.41;signup:+0.05");
  });

  it("gives fewer than k reasons rather than one that lowers the risk", () => {
    const reasons = rowReasons(encoders, [-0.2, 0.3, -0.1, 0, -0.5], value, 3, {});
    expect(reasons).toEqual({ texts: ["Card Category: Blue"], codes: "Card_Category:+0.30" });
    expect(rowReasons(encoders, [-1, -1, -1, -1, -1], value, 3, {})).toEqual({ texts: [], codes: "" });
    expect(rowReasons(encoders, [1, 1, 1, 1, 1], value, 0, {})).toEqual({ texts: [], codes: "" });
  });

  it("stops at k and breaks ties in transform order", () => {
    const reasons = rowReasons(encoders, [0.2, 0.5, 0.5, 0.2, 0.9], value, 4, {});
    expect(reasons.codes).toBe("signup:+0.90;Card_Category:+0.50;has_app:+0.50;Total_Trans_Ct:+0.20");
  });

  it("prints contributions with a sign and two decimals", () => {
    expect(formatContribution(0.8449)).toBe("+0.84");
    expect(formatContribution(-0.5)).toBe("-0.50");
  });
});
