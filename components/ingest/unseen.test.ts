import { describe, expect, it } from "vitest";
import { parseConfig } from "../common/config/index.js";
import { ingest } from "./ingest.js";
import { UNSEEN_CATEGORIES_CODE, unseenWarnings } from "./unseen.js";

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

const config = (policy: "score" | "warn" | "reject") =>
  parseConfig(
    {
      id_column: "id",
      label: { column: "flag", positive: "yes" },
      ingest: { unseen_categories: policy, max_reject_share: 0.9 },
    },
    "test",
  );

/** Training: education in {College, Graduate}; card in {Blue, Gold}. */
const HISTORY = `id,education,card,flag\n${Array.from(
  { length: 40 },
  (_, i) => `${i},${i % 2 ? "College" : "Graduate"},${i % 3 ? "Blue" : "Gold"},${i % 4 ? "no" : "yes"}`,
).join("\n")}\n`;

/** A week of 30 rows: 20 with an education training never saw (two values), one an unseen card and a duplicate id. */
const WEEK = `id,education,card\n${Array.from(
  { length: 30 },
  (_, i) =>
    `${i},${i < 15 ? "PhD Candidate" : i < 20 ? "Doctorate" : "College"},${i === 25 ? "Platinum" : "Blue"}`,
).join("\n")}\n29,College,Silver\n`;

async function week(policy: "score" | "warn" | "reject") {
  const training = await ingest(bytes(HISTORY), {
    source: "input/h.csv",
    config: config(policy),
    mode: "training",
  });
  return ingest(bytes(WEEK), {
    source: "weekly/w.csv",
    config: config(policy),
    mode: "scoring",
    schema: training.schema,
  });
}

describe("unseen categories (ingest.unseen_categories)", () => {
  it("warn: counts accepted rows per column with the values, most frequent first, and scores them", async () => {
    const result = await week("warn");
    expect(result.accepted).toBe(30);
    // The duplicate id row is rejected for that reason, so its unseen "Silver" is not counted.
    expect(result.unseenCategories).toEqual([
      { column: "education", rows: 20, values: ["PhD Candidate", "Doctorate"], action: "scored" },
      { column: "card", rows: 1, values: ["Platinum"], action: "scored" },
    ]);
    expect(unseenWarnings(result.unseenCategories, "warn")).toEqual([
      {
        code: UNSEEN_CATEGORIES_CODE,
        column: "education",
        message: 'education: 20 rows with values never seen in training ("PhD Candidate", "Doctorate")',
      },
      {
        code: UNSEEN_CATEGORIES_CODE,
        column: "card",
        message: 'card: 1 row with values never seen in training ("Platinum")',
      },
    ]);
  });

  it("score: the same counts, no warning", async () => {
    const result = await week("score");
    expect(result.accepted).toBe(30);
    expect(result.unseenCategories.map((u) => u.rows)).toEqual([20, 1]);
    expect(unseenWarnings(result.unseenCategories, "score")).toEqual([]);
  });

  it("reject: those rows go to rejected.csv with the reason, naming column and value", async () => {
    const result = await week("reject");
    expect(result.accepted).toBe(9);
    expect(result.rejected).toBe(22);
    expect(result.firstRejects[0]).toEqual({
      line: 2,
      column: "education",
      reason: 'unseen category: "PhD Candidate" was never seen in training',
    });
    expect(result.unseenCategories.find((u) => u.column === "card")).toEqual({
      column: "card",
      rows: 2,
      values: ["Platinum", "Silver"],
      action: "rejected",
    });
    expect(unseenWarnings(result.unseenCategories, "reject")[0]!.message).toMatch(
      /those rows are in rejected\.csv$/,
    );
  });

  it("training files are never checked", async () => {
    const training = await ingest(bytes(HISTORY), {
      source: "input/h.csv",
      config: config("reject"),
      mode: "training",
    });
    expect(training.unseenCategories).toEqual([]);
  });
});
