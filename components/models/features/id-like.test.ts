import { describe, expect, it } from "vitest";
import { Rng } from "../../common/random.js";
import { idLikeReason, increasingShare, nameLooksLikeId } from "./id-like.js";

describe("id-like names", () => {
  it.each([
    ["customer_id", true],
    ["CustomerID", true],
    ["customerId", true],
    ["EmployeeNumber", true],
    ["RowNumber", true],
    ["CLIENTNUM", true],
    ["uuid", true],
    ["MonthlyIncome", false],
    ["MonthlyRate", false],
    ["Paid", false],
    ["Balance", false],
    ["EstimatedSalary", false],
  ])("%s -> %s", (name, expected) => {
    expect(nameLooksLikeId(name)).toBe(expected);
  });
});

describe("the id-like rule", () => {
  const rng = new Rng(5);
  const n = 1000;
  // 95% distinct whole numbers in random order, like HR attrition's MonthlyIncome
  const income = Float64Array.from(
    rng.shuffle(Array.from({ length: n }, (_, i) => (i < 950 ? 1009 + i * 13 : 1009 + (i % 50) * 13))),
  );
  const counter = Float64Array.from({ length: n }, (_, i) => 15_000_000 + i * 7);
  const base = { uniqueShare: 0.95, integerValued: true };

  it("keeps a unique whole-number measure in random order", () => {
    expect(increasingShare(income)).toBeLessThan(0.6);
    expect(idLikeReason({ ...base, name: "MonthlyIncome", distinctShare: 0.95, numbers: income })).toBeNull();
  });

  it("drops a row counter whatever its name, and an id by its name", () => {
    expect(idLikeReason({ ...base, name: "Opened", distinctShare: 1, numbers: counter })).toBe("row-order");
    expect(idLikeReason({ ...base, name: "EmployeeNumber", distinctShare: 1, numbers: income })).toBe("name");
  });

  it("drops unique text, never a non-unique column or a non-integer measure", () => {
    expect(idLikeReason({ ...base, name: "Surname", distinctShare: 0.99, numbers: null })).toBe("text");
    expect(idLikeReason({ ...base, name: "customer_id", distinctShare: 0.5, numbers: counter })).toBeNull();
    expect(
      idLikeReason({
        name: "id",
        distinctShare: 1,
        uniqueShare: 0.95,
        integerValued: false,
        numbers: counter,
      }),
    ).toBeNull();
  });
});
