import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InputError, UsageError } from "../errors.js";
import { describeIssues, issuePath, parseDocument, parseRequest } from "./parse.js";

const body = z.strictObject({
  customers: z.array(z.strictObject({ id: z.string(), age: z.number().min(0) })).min(1),
  horizon: z.number().optional(),
});

describe("one way of describing schema problems", () => {
  it("writes paths as people do, naming the whole value", () => {
    expect(issuePath(["customers", 3, "age"])).toBe("customers[3].age");
    expect(issuePath([0, "x"])).toBe("[0].x");
    expect(issuePath([])).toBe("(top)");
    expect(issuePath([], "body")).toBe("body");
  });

  it("lists the first problems and counts the rest", () => {
    const result = z.array(z.number()).safeParse(["a", "b", "c"]);
    expect(result.success).toBe(false);
    const issues = result.error?.issues ?? [];
    expect(describeIssues(issues, { limit: 2 })).toBe(
      "[0]: Invalid input: expected number, received string; [1]: Invalid input: expected number, received string (and 1 more)",
    );
    expect(describeIssues(issues).split("; ")).toHaveLength(3);
  });
});

describe("parseDocument", () => {
  it("names the document and every problem", () => {
    expect(() =>
      parseDocument(body, '{"customers":[{"id":1,"age":-1}]}', "runs/r/x.json", "request log"),
    ).toThrow(/^runs\/r\/x\.json is not a valid request log: customers\[0\]\.id: .*; customers\[0\]\.age: /);
    expect(() => parseDocument(body, "{", "runs/r/x.json")).toThrow(/^runs\/r\/x\.json is not valid JSON: /);
  });
});

describe("parseRequest", () => {
  it("gives back the typed value of a valid body", () => {
    expect(parseRequest(body, { customers: [{ id: "a", age: 3 }] }, "lookup request")).toEqual({
      customers: [{ id: "a", age: 3 }],
    });
  });

  it("answers 400 naming the fields at fault, with the issues in the details", () => {
    let error: unknown;
    try {
      parseRequest(body, { customers: [{ id: "a", age: "x" }], extra: 1 }, "lookup request");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ httpStatus: 400 });
    const message = error instanceof Error ? error.message : "";
    expect(message).toMatch(/^invalid lookup request: /);
    expect(message).toMatch(/customers\[0\]\.age: /);
    expect(message).toMatch(/body: Unrecognized key: "extra"/);
    expect(error).toHaveProperty("details.issues");
  });

  it("answers 422 when asked, or the protocol's own error", () => {
    expect(() => parseRequest(body, { customers: [] }, "query", { status: 422 })).toThrow(InputError);
    expect(() => parseRequest(body, { customers: [] }, "query", { status: 422 })).toThrow(
      /^invalid query: customers: Too small/,
    );
    class Seed extends InputError {}
    const invalid = (issues: readonly unknown[]) => new Seed(`${issues.length} problem(s)`);
    expect(() => parseRequest(body, {}, "seed request", { invalid })).toThrow(Seed);
    expect(() => parseRequest(body, {}, "seed request", { invalid })).toThrow(/^1 problem\(s\)$/);
  });
});
