import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import {
  bundleObject,
  CHAMPION_OBJECT,
  cacheObject,
  csvStemDirectlyUnder,
  isLeaseObject,
  isModelVersion,
  isOutputFileName,
  isRunId,
  isStem,
  isStepName,
  isSystemWritten,
  leaseObject,
  lifetimeOutputPrefix,
  runIdFor,
  runIdOfRecordObject,
  runRecordObject,
  stemOf,
  stemUnder,
  stepLogObject,
  stepPrefix,
  triggerCandidates,
  triggerMarkerObject,
  triggerProblem,
  triggerStem,
  versionOfBundleObject,
  weekFileOf,
  weekOutputObject,
  weekOutputPrefix,
  writtenBy,
} from "./index.js";

describe("stems", () => {
  it.each([
    ["weekly/2024-W18.csv", "2024-W18"],
    ["weekly/2024-W18.csv.gz", "2024-W18"],
    ["weekly/2024-W18.CSV", "2024-W18"],
    ["transactions/shop.Csv.Gz", "shop"],
    ["weekly/a.b-c_d.csv", "a.b-c_d"],
    ["weekly/.x.csv", ".x"],
  ])("%s → %s", (name, stem) => expect(stemOf(name)).toBe(stem));

  it.each([
    ["weekly/.csv", /stem "" is reserved or empty/],
    ["weekly/..csv", /stem "." is reserved/],
    ["weekly/...csv", /stem ".." is reserved/],
    ["weekly/_x.csv", /stem "_x" is reserved/],
    // output/_latest.json is the lookup's pointer: a week named _latest would collide with its folder's name space.
    ["weekly/_latest.csv", /stem "_latest" is reserved/],
    ["weekly/lifetime.csv.gz", /stem "lifetime" is reserved/],
    // Refused since issue 25: each one would publish into a folder that is not usable everywhere.
    ["weekly/LifeTime.csv", /stem "LifeTime" is reserved/],
    ["weekly/....csv", /stem "\.\.\." ends with "\.", which no folder name can on Windows/],
    ["weekly/W48..csv", /stem "W48\." ends with "\."/],
    ["weekly/con.csv", /stem "con" is a device name on Windows/],
    ["weekly/LPT1.txt.csv", /stem "LPT1\.txt" is a device name on Windows/],
    ["weekly/bad name.csv", /letters, digits, "\.", "_" and "-" only/],
    [`weekly/${"a".repeat(201)}.csv`, /longer than 200 characters/],
  ])("%s is refused", (name, message) => {
    expect(() => stemOf(name)).toThrow(UsageError);
    expect(() => stemOf(name)).toThrow(message);
  });

  it("isStem is the same rule for a bare stem (what the console accepts)", () => {
    expect(["2026-W01", "a.b", "-x", ".x", "console", "com", "a".repeat(200)].every(isStem)).toBe(true);
    const refused = ["", ".", "..", "...", "x.", "_x", "lifetime", "LIFETIME", "nul", "Com1", "a/b", "a b"];
    expect(refused.concat("a".repeat(201)).filter(isStem)).toEqual([]);
  });

  it("stemUnder joins one week's objects across prefixes", () => {
    expect(stemUnder("weekly/w1.csv.gz", "weekly/")).toBe("w1");
    expect(stemUnder("output/w1/scores.csv", "output/")).toBe("w1");
    expect(stemUnder("labels/W1.CSV", "labels/")).toBe("W1");
  });

  it("csvStemDirectlyUnder finds a week's labels and nothing else", () => {
    expect(csvStemDirectlyUnder("labels/w1.csv.gz", "labels/")).toBe("w1");
    expect(csvStemDirectlyUnder("labels/W1.CSV", "labels/")).toBe("W1");
    expect(csvStemDirectlyUnder("labels/old/w1.csv", "labels/")).toBeNull();
    expect(csvStemDirectlyUnder("labels/w1.txt", "labels/")).toBeNull();
    expect(csvStemDirectlyUnder("labels/lifetime.csv", "labels/")).toBeNull();
    expect(csvStemDirectlyUnder("weekly/w1.csv", "labels/")).toBeNull();
  });
});

describe("trigger rule", () => {
  it.each([
    ["weekly/w.csv", {}, null],
    ["input/w.csv", {}, "outside"],
    ["weekly/a/w.csv", {}, "subfolder"],
    ["weekly/w.txt", {}, "not-csv"],
    ["weekly/w.csv", { "churn-writer": "init" }, "system-written"],
    ["weekly/lifetime.csv", {}, "stem"],
    // The prefix is checked first: the function logs "outside weekly/" for our own outputs.
    ["output/w/scores.csv", { "churn-writer": "publish" }, "outside"],
  ])("%s %j → %s", (name, metadata, rule) => {
    expect(triggerProblem({ name, metadata })?.rule ?? null).toBe(rule);
  });

  it("works for the lifetime pipeline's prefix too", () => {
    expect(triggerProblem({ name: "transactions/shop.csv", metadata: {} }, "transactions/")).toBeNull();
    expect(triggerProblem({ name: "weekly/shop.csv", metadata: {} }, "transactions/")?.reason).toBe(
      "outside transactions/",
    );
  });

  it("triggerStem gives the stem of a trigger-shaped name only", () => {
    expect(triggerStem("weekly/2026-W01.csv.gz")).toBe("2026-W01");
    expect(triggerStem("weekly/a/b.csv")).toBeNull();
    expect(triggerStem("weekly/_x.csv")).toBeNull();
  });

  it("triggerCandidates: newest first, keeps stem refusals (to report them), drops the rest", () => {
    const at = (name: string, t: number, metadata: Record<string, string> = {}) => ({
      name,
      size: 1,
      generation: String(t),
      updated: new Date(t),
      metadata,
    });
    const candidates = triggerCandidates([
      at("weekly/old.csv", 1),
      at("weekly/new.csv", 2),
      at("weekly/sub/newest.csv", 9),
      at("weekly/copy.csv", 8, writtenBy("publish")),
      at("weekly/lifetime.csv", 3),
    ]);
    expect(candidates.map((c) => [c.object.name, c.refusal?.rule ?? null])).toEqual([
      ["weekly/lifetime.csv", "stem"],
      ["weekly/new.csv", null],
      ["weekly/old.csv", null],
    ]);
  });

  it("the churn-writer key marks system-written objects", () => {
    expect(isSystemWritten({ metadata: writtenBy("runner") })).toBe(true);
    expect(isSystemWritten({ metadata: { other: "x" } })).toBe(false);
  });
});

describe("run ids and run folders", () => {
  it("has one run id shape (r- and 16 hex digits, -a<n> for an attempt)", () => {
    const id = runIdFor("weekly", "gs://b", { name: "weekly/w1.csv", generation: "1" });
    expect(id).toMatch(/^r-[0-9a-f]{16}$/);
    expect(isRunId(id)).toBe(true);
    expect(isRunId(runIdFor("weekly", "gs://b", { name: "weekly/w1.csv", generation: "1" }, 3))).toBe(true);
    for (const bad of ["r-123", "s-0123456789abcdef", "r-0123456789ABCDEF", "../r-0123456789abcdef"])
      expect(isRunId(bad), bad).toBe(false);
  });

  it("names the objects of a run folder", () => {
    const id = "r-0123456789abcdef";
    expect(runRecordObject(id)).toBe(`runs/${id}/run.json`);
    expect(runIdOfRecordObject(runRecordObject(id))).toBe(id);
    expect(runIdOfRecordObject(`runs/${id}/steps/x/run.json`)).toBeNull();
    expect(leaseObject(id)).toBe(`runs/${id}/lease`);
    expect(isLeaseObject(leaseObject(id))).toBe(true);
    expect(isLeaseObject(`runs/${id}/steps/x/lease`)).toBe(false);
    expect(triggerMarkerObject(id)).toBe(`runs/${id}/trigger.json`);
    expect(stepPrefix(id, "train")).toBe(`runs/${id}/steps/train/`);
    expect(stepLogObject(id, "train")).toBe(`runs/${id}/steps/train/log.txt`);
    expect(isStepName("merge-scores")).toBe(true);
    expect(isStepName("../x")).toBe(false);
    expect(cacheObject("ab")).toBe("cache/ab.json");
  });
});

describe("models and outputs", () => {
  it("names bundles and the champion, and recognises bundle objects", () => {
    expect(bundleObject("0123456789abcdef")).toBe("models/0123456789abcdef/bundle.json");
    expect(CHAMPION_OBJECT).toBe("models/champion");
    expect(versionOfBundleObject("models/0123456789abcdef/bundle.json")).toBe("0123456789abcdef");
    expect(versionOfBundleObject("models/0123456789ABCDEF/bundle.json")).toBeNull();
    expect(versionOfBundleObject("models/lifetime/0123456789abcdef.json")).toBeNull();
    expect(isModelVersion("0123456789abcdef")).toBe(true);
    expect(isModelVersion("nope")).toBe(false);
  });

  it("names output folders and recognises a week's files (never lifetime outputs)", () => {
    expect(weekOutputPrefix("2026-W48")).toBe("output/2026-W48/");
    expect(weekOutputObject("2026-W48", "_SUCCESS")).toBe("output/2026-W48/_SUCCESS");
    expect(lifetimeOutputPrefix("shop")).toBe("output/lifetime/shop/");
    expect(weekFileOf("output/2026-W48/scores.csv")).toEqual({ stem: "2026-W48", file: "scores.csv" });
    expect(weekFileOf("output/lifetime/shop/customers.csv")).toBeNull();
    expect(weekFileOf("output/lifetime/customers.csv")).toBeNull();
    expect(weekFileOf("output/_latest.json")).toBeNull();
    expect(weekFileOf("output/w/sub/x.csv")).toBeNull();
    expect(isOutputFileName("_SUCCESS")).toBe(true);
    expect(isOutputFileName("../churn.yaml")).toBe(false);
  });
});
