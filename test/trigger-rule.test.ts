import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../components/common/log.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { FINALIZED } from "../functions/events.js";
import type { LaunchRequest } from "../functions/launcher.js";
import { handleWeeklyUpload } from "../functions/on-weekly-upload.js";
import { weeklyPipeline } from "../pipelines/definitions/weekly.js";
import { pendingTriggers, scanTriggers } from "../pipelines/watch.js";

/**
 * The one trigger rule, seen from both places that act on it: the cloud
 * function (onWeeklyUpload, fed real CloudEvent-shaped events) and `churn
 * watch` (pendingTriggers on a local folder bucket holding the same objects).
 * One table drives both, so they cannot disagree again (they did on
 * `weekly/a/b.csv`: watch started a run the function ignored).
 *
 * Decided and documented here: upper-case `.CSV` / `.CSV.GZ` starts a run
 * (spreadsheet tools on Windows write it; the function and the runner always
 * accepted it), and stems `.`, `..`, `_...`, `lifetime` and the empty stem
 * are reserved (DESIGN).
 */
interface TriggerCase {
  name: string;
  metadata?: Record<string, string>;
  starts: boolean;
  /** For objects that start nothing: a phrase of the reason the function logs. */
  why?: string;
}

const TABLE: readonly TriggerCase[] = [
  { name: "weekly/2026-W48.csv", starts: true },
  { name: "weekly/2026-W47.csv.gz", starts: true },
  { name: "weekly/2026-W46.CSV", starts: true },
  { name: "weekly/2026-W45.CSV.GZ", starts: true },
  { name: "weekly/a.b-c_d.csv", starts: true },
  { name: "weekly/a/b.csv", starts: false, why: "in a subfolder of weekly/" },
  { name: "weekly/..csv", starts: false, why: 'stem "." is reserved' },
  { name: "weekly/_x.csv", starts: false, why: 'stem "_x" is reserved' },
  { name: "weekly/lifetime.csv", starts: false, why: 'stem "lifetime" is reserved' },
  { name: "weekly/.csv", starts: false, why: "reserved or empty" },
  // Issue 25: stems whose output folder is not usable everywhere.
  { name: "weekly/....csv", starts: false, why: 'stem "..." ends with "."' },
  { name: "weekly/W48..csv", starts: false, why: 'stem "W48." ends with "."' },
  { name: "weekly/LIFETIME.csv", starts: false, why: 'stem "LIFETIME" is reserved' },
  { name: "weekly/nul.csv", starts: false, why: 'stem "nul" is a device name on Windows' },
  { name: "weekly/bad name.csv", starts: false, why: "letters, digits" },
  { name: "weekly/x.txt", starts: false, why: "not a .csv or .csv.gz file" },
  { name: "weekly/x.csv.bak", starts: false, why: "not a .csv or .csv.gz file" },
  {
    name: "weekly/system-copy.csv",
    metadata: { "churn-writer": "publish" },
    starts: false,
    why: "written by the system (churn-writer: publish)",
  },
  { name: "input/history.csv", starts: false, why: "outside weekly/" },
  { name: "weeklyx/2026-W48.csv", starts: false, why: "outside weekly/" },
];

let dir: string;
let storage: Storage;
const generations = new Map<string, string>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "trigger-rule-"));
  storage = await openStorage(dir);
  for (const row of TABLE) {
    const info = await storage.write(row.name, "id,age\n1,40\n", { metadata: row.metadata ?? {} });
    generations.set(row.name, info.generation);
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the trigger rule: the cloud function and churn watch give the same answer", () => {
  it("churn watch (pendingTriggers) picks exactly the objects the table says start a run", async () => {
    const pending = new Set(await pendingTriggers(storage, weeklyPipeline));
    for (const row of TABLE) expect(pending.has(row.name), row.name).toBe(row.starts);
    expect(pending.size).toBe(TABLE.filter((row) => row.starts).length);
    // What watch warns about (uploads refused for their stem) carries the function's sentence.
    const { refused } = await scanTriggers(storage, weeklyPipeline);
    expect(refused.length).toBeGreaterThan(0);
    for (const { object, reason } of refused) {
      const row = TABLE.find((r) => r.name === object)!;
      expect(row.starts, object).toBe(false);
      expect(reason).toContain(row.why);
    }
  });

  it.each(TABLE)("onWeeklyUpload: $name starts a run: $starts", async (row) => {
    const launched: LaunchRequest[] = [];
    const event = {
      id: `event-${row.name}`,
      type: FINALIZED,
      source: "//storage.googleapis.com/projects/_/buckets/b",
      subject: `objects/${row.name}`,
      data: { bucket: "b", name: row.name, generation: generations.get(row.name), metadata: row.metadata },
    };
    const outcome = await handleWeeklyUpload(event, {
      openBucket: async () => storage,
      launcher: {
        launch: async (request) => {
          launched.push(request);
          return { kind: "test", handle: "h" };
        },
      },
      logger: silentLogger,
    });
    if (row.starts) {
      expect(outcome).toMatchObject({ action: "started", object: row.name });
      expect(launched.map((l) => l.object)).toEqual([row.name]);
    } else {
      expect(outcome).toMatchObject({ action: "ignored", object: row.name });
      expect(outcome.action === "ignored" && outcome.reason).toContain(row.why);
      expect(launched).toEqual([]);
    }
  });
});
