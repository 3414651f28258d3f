import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, UsageError } from "../../components/common/errors.js";
import { writtenBy } from "../../components/common/layout/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { selectWeeklyFile } from "./trigger.js";

// The runner's choice of the file a run is for goes through the layout's trigger rule.

let dir: string;
let storage: Storage;
const pause = () => new Promise((r) => setTimeout(r, 15));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "select-weekly-"));
  storage = await openStorage(dir);
  await storage.write("weekly/2026-W47.csv", "id\n1\n");
  await pause();
  await storage.write("weekly/2026-W48.CSV", "id\n1\n");
  await pause();
  // Newer, but neither starts a run: a file in a subfolder and a copy the system wrote.
  await storage.write("weekly/archive/2026-W49.csv", "id\n1\n");
  await pause();
  await storage.write("weekly/copy.csv", "id\n1\n", { metadata: writtenBy("publish") });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("selectWeeklyFile", () => {
  it("takes the newest upload the trigger rule accepts", async () => {
    expect((await selectWeeklyFile(storage)).name).toBe("weekly/2026-W48.CSV");
  });

  it("refuses a newest upload whose stem is reserved instead of quietly taking an older week", async () => {
    await pause();
    await storage.write("weekly/_draft.csv", "id\n1\n");
    try {
      await expect(selectWeeklyFile(storage)).rejects.toThrow(/stem "_draft" is reserved/);
    } finally {
      await storage.delete("weekly/_draft.csv");
    }
  });

  it("checks a named file by name only: subfolders and bad stems are refused, a system copy is allowed", async () => {
    await expect(selectWeeklyFile(storage, "weekly/archive/2026-W49.csv")).rejects.toThrow(
      /--weekly must name a CSV directly under weekly\/ \(not in a subfolder\)/,
    );
    await expect(selectWeeklyFile(storage, "input/x.csv")).rejects.toThrow(
      /--weekly must name a CSV under weekly\//,
    );
    await expect(selectWeeklyFile(storage, "weekly/missing.csv")).rejects.toThrow(NotFoundError);
    await storage.write("weekly/..csv", "id\n1\n");
    await expect(selectWeeklyFile(storage, "weekly/..csv")).rejects.toThrow(UsageError);
    // A stem that would publish into output/.../ (a trailing dot: "." on Windows) is refused too.
    await storage.write("weekly/....csv", "id\n1\n");
    await expect(selectWeeklyFile(storage, "weekly/....csv")).rejects.toThrow(
      /"weekly\/\.\.\.\.csv" cannot be processed: its stem "\.\.\." ends with "\."/,
    );
    await storage.delete("weekly/....csv");
    expect((await selectWeeklyFile(storage, "weekly/copy.csv")).name).toBe("weekly/copy.csv");
  });

  it("says what to do when nothing can be scored", async () => {
    const empty = await openStorage(await mkdtemp(join(tmpdir(), "select-empty-")));
    await empty.write("weekly/sub/x.csv", "id\n1\n");
    await expect(selectWeeklyFile(empty)).rejects.toThrow(/no weekly file to score/);
    await rm(new URL(empty.uri).pathname, { recursive: true, force: true });
  });
});
