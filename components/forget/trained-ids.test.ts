import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readIdKey, readTrainedIds, TrainedIdSet, trainedIdsObject } from "../common/bundle/trained-ids.js";
import { openStorage, type Storage } from "../common/storage/index.js";
import { ForgetIds } from "./ids.js";
import { forgetTrainedIds } from "./trained-ids.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "forget-trained-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("forget and trained-id sets", () => {
  it("removes forgotten customers from every model's set (a dry run changes nothing)", async () => {
    const hasher = (await readIdKey(storage, { create: true }))!;
    const a = "0123456789abcdef";
    const b = "fedcba9876543210";
    await storage.write(trainedIdsObject(a), TrainedIdSet.fromIds(hasher, ["C1", "C2", "Zoë"]).serialize());
    await storage.write(trainedIdsObject(b), TrainedIdSet.fromIds(hasher, ["C3"]).serialize());
    const forget = new ForgetIds(["C2", "Zoë", "C9"]).values();
    const lines: string[] = [];
    const dry = await forgetTrainedIds(storage, forget, { dryRun: true, say: (l) => lines.push(l) });
    expect(dry).toEqual([{ object: trainedIdsObject(a), removed: 2 }]);
    expect((await readTrainedIds(storage, a))!.size).toBe(3);
    const done = await forgetTrainedIds(storage, forget, { dryRun: false, say: (l) => lines.push(l) });
    expect(done).toEqual(dry);
    const kept = (await readTrainedIds(storage, a))!;
    expect(kept.size).toBe(1);
    expect(kept.has(hasher.hash("C1"))).toBe(true);
    expect(kept.has(hasher.hash("Zoë"))).toBe(false);
    expect((await readTrainedIds(storage, b))!.size).toBe(1);
    expect(lines.at(-1)).toBe(`removed 2 id hash(es) from ${trainedIdsObject(a)}`);
  });

  it("does nothing in a bucket without an id key", async () => {
    expect(await forgetTrainedIds(storage, ["C1"], { dryRun: false, say: () => {} })).toEqual([]);
  });
});
