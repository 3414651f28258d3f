import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfigText } from "../common/config/index.js";
import { UsageError } from "../common/errors.js";
import { openStorage } from "../common/storage/index.js";
import type { Storage } from "../common/storage/types.js";
import {
  checkInitOptions,
  EXAMPLE_TRANSACTIONS_OBJECT,
  EXAMPLE_WEEKLY_OBJECT,
  exampleConfigText,
  HISTORY_OBJECT,
  initExampleBucket,
  isoWeekStem,
} from "./index.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-example-"));
  storage = await openStorage(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("exampleConfigText", () => {
  it("parses with the real churn.yaml schema and names the example's columns", () => {
    const config = parseConfigText(exampleConfigText(7));
    expect(config.id_column).toBe("CLIENTNUM");
    expect(config.label).toEqual({ column: "Attrition_Flag", positive: "Attrited Customer" });
    expect(config.train.seed).toBe(7);
    expect(config.passthrough).toEqual(["Card_Category", "Income_Category"]);
    expect(config.exclude).toEqual([]);
  });

  it("explains itself: most keys carry a comment", () => {
    const lines = exampleConfigText(1).split("\n");
    const comments = lines.filter((line) => line.includes("#")).length;
    expect(comments).toBeGreaterThan(20);
  });
});

describe("isoWeekStem", () => {
  it.each([
    ["2026-11-23", "2026-W48"],
    ["2021-01-03", "2020-W53"],
    ["2024-12-30", "2025-W01"],
    ["2026-01-01", "2026-W01"],
  ])("%s is in %s", (date, stem) => {
    expect(isoWeekStem(new Date(`${date}T12:00:00Z`))).toBe(stem);
  });
});

describe("checkInitOptions", () => {
  it.each([
    [{ rows: 99, weeklyRows: 1, seed: 1 }, /--rows must be a whole number of at least 100, got 99/],
    [{ rows: 100.5, weeklyRows: 1, seed: 1 }, /--rows/],
    [{ rows: 1000, weeklyRows: 0, seed: 1 }, /--weekly-rows must be .* at least 1, got 0/],
    [{ rows: 2 ** 27, weeklyRows: 1, seed: 1 }, /must not exceed 134217728/],
    [{ rows: 1000, weeklyRows: 1, seed: -3 }, /--seed must be a non-negative whole number, got -3/],
  ])("refuses %o", (options, message) => {
    expect(() => checkInitOptions(options)).toThrow(UsageError);
    expect(() => checkInitOptions(options)).toThrow(message);
  });

  it("reports every problem at once", () => {
    expect(() => checkInitOptions({ rows: 1, weeklyRows: -1, seed: 0.5 })).toThrow(
      /--rows.*--weekly-rows.*--seed/,
    );
  });
});

describe("initExampleBucket", () => {
  it("writes the config, history and weekly file, untagged, with counts that match the files", async () => {
    const result = await initExampleBucket(storage, { rows: 600, weeklyRows: 50, seed: 11, force: false });
    expect(result.objects.map((o) => o.name)).toEqual([
      "churn.yaml",
      HISTORY_OBJECT,
      EXAMPLE_TRANSACTIONS_OBJECT,
      EXAMPLE_WEEKLY_OBJECT,
    ]);
    expect(EXAMPLE_TRANSACTIONS_OBJECT).toBe("transactions/2026-11.csv");
    expect(EXAMPLE_WEEKLY_OBJECT).toBe("weekly/2026-W48.csv");
    for (const object of result.objects) {
      const info = await storage.stat(object.name);
      expect(info?.size).toBe(object.bytes);
      // Untagged on purpose: the weekly trigger must treat them as user uploads.
      expect(info?.metadata).toEqual({});
    }
    const history = (await readFile(join(dir, HISTORY_OBJECT), "utf8")).trimEnd().split("\n");
    const weekly = (await readFile(join(dir, EXAMPLE_WEEKLY_OBJECT), "utf8")).trimEnd().split("\n");
    expect(history).toHaveLength(601);
    expect(weekly).toHaveLength(51);
    const churned = history.filter((line) => line.includes('"Attrited Customer"')).length;
    expect(result.objects[1]).toMatchObject({ rows: 600, churned });
    expect(result.churnRate).toBeCloseTo(churned / 600, 10);
    expect(weekly.some((line) => /"(Existing|Attrited) Customer"/.test(line))).toBe(false);
    parseConfigText(await readFile(join(dir, "churn.yaml"), "utf8"));
    // The purchase log: a tenth of the history's customers (at least 100), header first, counted right.
    const purchases = (await readFile(join(dir, EXAMPLE_TRANSACTIONS_OBJECT), "utf8")).trimEnd().split("\n");
    expect(purchases[0]).toBe("customer_id,date,amount");
    expect(result.objects[2]).toMatchObject({ rows: purchases.length - 1, customers: 100 });
    expect(new Set(purchases.slice(1).map((l) => l.split(",")[0])).size).toBe(100);
  });

  it("refuses to overwrite without force, naming what exists, and is byte-identical with force", async () => {
    await initExampleBucket(storage, { rows: 300, weeklyRows: 20, seed: 4, force: false });
    const first = await readFile(join(dir, HISTORY_OBJECT));
    await expect(
      initExampleBucket(storage, { rows: 300, weeklyRows: 20, seed: 4, force: false }),
    ).rejects.toThrow(
      /churn\.yaml, .*input\/history\.csv, .*weekly\/2026-W48\.csv already exist: pass --force/,
    );
    await initExampleBucket(storage, { rows: 300, weeklyRows: 20, seed: 4, force: true });
    expect((await readFile(join(dir, HISTORY_OBJECT))).equals(first)).toBe(true);
  });

  it("refuses when only the config exists (exit code 2)", async () => {
    await storage.write("churn.yaml", "id_column: x\n");
    const error = await initExampleBucket(storage, {
      rows: 300,
      weeklyRows: 20,
      seed: 4,
      force: false,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/churn\.yaml already exists/);
    expect(await storage.readText("churn.yaml")).toBe("id_column: x\n");
    expect(await storage.stat(HISTORY_OBJECT)).toBeNull();
  });
});
