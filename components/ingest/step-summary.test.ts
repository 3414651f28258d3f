import { describe, expect, it } from "vitest";
import type { DatasetSchema } from "../common/schema/types.js";
import type { IngestResult } from "./ingest.js";
import { fileSummary, stepProfile, totalsOf } from "./step-summary.js";

const schema: DatasetSchema = {
  version: 1,
  columns: [{ name: "id", type: "categorical", role: "id", missingTokens: [] }],
  idColumn: "id",
  generatedId: false,
  label: { column: "flag", positive: "yes" },
  source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
};

function result(source: string, rowsIn: number, rejected: number): IngestResult {
  const accepted = rowsIn - rejected;
  return {
    source,
    schema,
    rowsIn,
    accepted,
    rejected,
    reasons: rejected > 0 ? { empty: rejected } : {},
    firstRejects: Array.from({ length: rejected }, (_, i) => ({
      line: i + 2,
      column: "id",
      reason: "empty",
    })),
    profile: { rows: { in: rowsIn, accepted, rejected }, columns: [], piiColumns: [] },
    format: { encoding: "utf-8", bom: false, gzip: false, delimiter: ",", decimal: "." },
    ignoredColumns: [],
    unseenCategories: [{ column: "city", rows: 1, values: [`from ${source}`], action: "scored" }],
    maxRejectShare: 0.5,
    rejectShareExceeded: false,
  };
}

describe("the ingest step's summary", () => {
  it("keeps the first five rejects of a file and sums the counts over files", () => {
    const files = [
      fileSummary("input/a.csv", result("input/a.csv", 10, 7)),
      fileSummary("input/b.csv", result("input/b.csv", 5, 0)),
    ];
    expect(files[0]!.firstRejects.map((r) => r.line)).toEqual([2, 3, 4, 5, 6]);
    expect(files[0]).toMatchObject({
      object: "input/a.csv",
      rowsIn: 10,
      accepted: 3,
      rejected: 7,
      reasons: { empty: 7 },
    });
    expect(totalsOf(files)).toEqual({ rowsIn: 15, accepted: 8, rejected: 7 });
    expect(totalsOf([])).toEqual({ rowsIn: 0, accepted: 0, rejected: 0 });
  });

  it("profiles one file as it is, several with each file's rows, and lists unseen categories when scoring", () => {
    const one = [result("weekly/w1.csv", 4, 1)];
    expect(stepProfile(one, "training")).toEqual(one[0]!.profile);
    const two = [result("input/a.csv", 4, 1), result("input/b.csv", 6, 0)];
    expect(stepProfile(two, "scoring")).toEqual({
      ...two[1]!.profile,
      files: [
        { object: "input/a.csv", rows: { in: 4, accepted: 3, rejected: 1 } },
        { object: "input/b.csv", rows: { in: 6, accepted: 6, rejected: 0 } },
      ],
      unseenCategories: [...two[0]!.unseenCategories, ...two[1]!.unseenCategories],
    });
    expect(() => stepProfile([], "training")).toThrow(/no file/);
  });
});
