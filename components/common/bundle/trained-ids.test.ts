import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { ID_KEY_OBJECT } from "../layout/index.js";
import { openStorage, type Storage } from "../storage/index.js";
import { readIdKey, readTrainedIds, TrainedIdSet, trainedIdsObject } from "./trained-ids.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "trained-ids-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const ids = Array.from({ length: 1000 }, (_, i) => `CUST-${i}`);

describe("trained-id sets", () => {
  it("use one bucket key, created once, so the same ids give the same hashes", async () => {
    expect(await readIdKey(storage, { create: false })).toBeNull();
    const a = (await readIdKey(storage, { create: true }))!;
    const key = await readFile(join(dir, ID_KEY_OBJECT), "utf8");
    const b = (await readIdKey(storage, { create: true }))!;
    expect(await readFile(join(dir, ID_KEY_OBJECT), "utf8")).toBe(key);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(a.hash("CUST-1")).toBe(b.hash("CUST-1"));
    expect(a.hash("CUST-1")).not.toBe(a.hash("CUST-2"));
    // another bucket's key hashes the same id differently
    const other = await openStorage(await mkdtemp(join(tmpdir(), "trained-ids-other-")));
    expect((await readIdKey(other, { create: true }))!.hash("CUST-1")).not.toBe(a.hash("CUST-1"));
    await rm(other.uri.replace(/^file:\/\//, ""), { recursive: true, force: true });
  });

  it("store no raw ids, hold exactly the ids given, and read back intact", async () => {
    const hasher = (await readIdKey(storage, { create: true }))!;
    const set = TrainedIdSet.fromIds(hasher, [...ids, "CUST-1"]);
    expect(set.size).toBe(1000);
    const text = set.serialize();
    expect(text).not.toMatch(/CUST/);
    expect(text.length).toBeLessThan(1000 * 17 + 200);
    await storage.write(trainedIdsObject("0123456789abcdef"), text);
    const back = (await readTrainedIds(storage, "0123456789abcdef"))!;
    for (const id of ids) expect(back.has(hasher.hash(id))).toBe(true);
    expect(back.has(hasher.hash("CUST-1000"))).toBe(false);
    expect(back.keyFingerprint).toBe(hasher.fingerprint);
    expect(await readTrainedIds(storage, "fedcba9876543210")).toBeNull();
  });

  it("lose forgotten ids", async () => {
    const hasher = (await readIdKey(storage, { create: true }))!;
    const set = TrainedIdSet.fromIds(hasher, ids).without(
      ["CUST-3", "CUST-7", "nobody"].map((id) => hasher.hash(id)),
    );
    expect(set.size).toBe(998);
    expect(set.has(hasher.hash("CUST-3"))).toBe(false);
    expect(set.has(hasher.hash("CUST-4"))).toBe(true);
  });

  it("refuse a damaged file or key, naming it", async () => {
    const hasher = (await readIdKey(storage, { create: true }))!;
    const doc = TrainedIdSet.fromIds(hasher, ids).toDocument();
    const name = trainedIdsObject("0123456789abcdef");
    await storage.write(name, JSON.stringify({ ...doc, count: 999 }));
    await expect(readTrainedIds(storage, "0123456789abcdef")).rejects.toThrow(
      new InputError(`${name}: holds 8000 bytes of hashes, not 999 x 8 as it says`),
    );
    await storage.write(
      name,
      JSON.stringify({ ...doc, hashes: doc.hashes.slice(16) + doc.hashes.slice(0, 16) }),
    );
    await expect(readTrainedIds(storage, "0123456789abcdef")).rejects.toThrow(/not sorted/);
    await writeFile(join(dir, ID_KEY_OBJECT), "short\n");
    await expect(readIdKey(storage, { create: true })).rejects.toThrow(
      /models\/_id_key is not a 32-byte hex key/,
    );
  });
});
