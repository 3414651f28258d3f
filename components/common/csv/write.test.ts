import { describe, expect, it } from "vitest";
import { csvField, guardFormula, mayNeedFormulaGuard } from "./write.js";

describe("guardFormula (OWASP CSV injection)", () => {
  it.each([
    ['=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'],
    ["+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1:A9)", "'@SUM(A1:A9)"],
    ["\t=1", "'\t=1"],
    ["\r=1", "'\r=1"],
    ["-", "'-"],
    ["+", "'+"],
    ["- bullet", "'- bullet"],
  ])("puts a quote before %j", (text, guarded) => {
    expect(guardFormula(text)).toBe(guarded);
  });

  it.each(["-3.5", "+1", "-0", "-.5", "+2e10", "-1E-3", "-0,5", "42", "3.5"])(
    "leaves the number %j alone",
    (text) => {
      expect(guardFormula(text)).toBe(text);
    },
  );

  it.each(["", "Blue", "a=b", "50+", "x-1", "'=already", " =leading space", "é=1"])(
    "leaves %j alone (it does not start like a formula)",
    (text) => {
      expect(guardFormula(text)).toBe(text);
    },
  );

  it("guards before quoting: the quote lands inside the CSV field", () => {
    expect(csvField(guardFormula('=HYPERLINK("x")'))).toBe('"\'=HYPERLINK(""x"")"');
    expect(csvField(guardFormula("@a,b"))).toBe('"\'@a,b"');
  });

  it("has a byte test that agrees with the text test on every ASCII first character", () => {
    for (let code = 0; code < 128; code++) {
      const text = `${String.fromCharCode(code)}x`;
      expect(mayNeedFormulaGuard(code), text).toBe(guardFormula(text) !== text);
    }
  });
});
