import { describe, expect, it } from "vitest";
import { InputError } from "../components/common/errors.js";
import { normalizeRows } from "./rows.js";
import { testSchema } from "./testing/schema.js";

const schema = testSchema();
const limits = { maxRows: 5, maxProblems: 10 };
const good = {
  Customer_Age: 45,
  Gender: "M",
  Dependent_count: 3,
  Education_Level: "High School",
  Income_Category: "$60K - $80K",
  Months_on_book: 39,
  Months_Inactive_12_mon: 1,
  Total_Revolving_Bal: 777,
  Total_Trans_Amt: 1144,
  Total_Trans_Ct: 42,
  Avg_Utilization_Ratio: 0.061,
  Has_Mobile_App: true,
};

describe("normalizeRows", () => {
  it("keeps only feature columns and ignores id, label, pii, passthrough and exclude columns", () => {
    const [row] = normalizeRows(
      schema,
      [
        {
          ...good,
          CLIENTNUM: "1",
          Attrition_Flag: "x",
          Email: "a@b",
          Region: "N",
          Naive_Bayes_Classifier_1: 0.5,
        },
      ],
      limits,
    );
    expect(row).toEqual(good);
    expect(Object.keys(row!)).not.toContain("Email");
  });

  const conversions: Array<[string, unknown, unknown]> = [
    ["Customer_Age", "45", 45],
    ["Customer_Age", "", null],
    ["Customer_Age", null, null],
    ["Education_Level", "Unknown", null],
    ["Gender", 1, "1"],
    ["Has_Mobile_App", "Yes", true],
    ["Has_Mobile_App", "no", false],
    ["Has_Mobile_App", 0, false],
  ];
  for (const [column, value, expected] of conversions) {
    it(`reads ${JSON.stringify(value)} in ${column} as ${JSON.stringify(expected)}`, () => {
      expect(normalizeRows(schema, [{ ...good, [column]: value }], limits)[0]![column]).toEqual(expected);
    });
  }

  const problems: Array<[string, unknown, string]> = [
    ["Customer_Age", "forty", 'row 1, column "Customer_Age": expected a finite number, got "forty"'],
    ["Customer_Age", true, "expected a finite number"],
    ["Customer_Age", Number.POSITIVE_INFINITY, "expected a finite number"],
    ["Has_Mobile_App", "maybe", "expected a boolean"],
    ["Gender", [1], "expected a string, got an array"],
    ["Favourite", "x", 'column "Favourite": unknown column'],
  ];
  for (const [column, value, message] of problems) {
    it(`refuses ${JSON.stringify(value)} in ${column} with a 422 naming row and column`, () => {
      let caught: unknown;
      try {
        normalizeRows(schema, [{ ...good, [column]: value as never }], limits);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InputError);
      expect((caught as InputError).message).toContain(message);
    });
  }

  it("reports every problem (up to the cap), missing features included", () => {
    const { Total_Trans_Ct: _, ...missing } = good;
    expect(() => normalizeRows(schema, [good, missing, { ...good, Gender: {} } as never], limits)).toThrow(
      /2 problems.*row 2, column "Total_Trans_Ct": missing feature.*row 3, column "Gender"/,
    );
    const many = Array.from({ length: 5 }, () => ({}));
    expect(() => normalizeRows(schema, many, { maxRows: 5, maxProblems: 3 })).toThrow(
      /3 problems.*stopped looking/,
    );
  });

  it("refuses empty and oversized batches and rows that are not objects", () => {
    expect(() => normalizeRows(schema, [], limits)).toThrow(/empty/);
    expect(() => normalizeRows(schema, Array(6).fill(good), limits)).toThrow(
      /6 rows, more than the limit of 5/,
    );
    expect(() => normalizeRows(schema, [[1, 2]], limits)).toThrow(/row 1: expected an object/);
  });
});
