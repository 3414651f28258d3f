import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LATEST_OBJECT } from "../layout/index.js";
import { openStorage } from "../storage/index.js";
import type { Storage } from "../storage/types.js";
import { latestPointer, movesPointer, parseLatest, updateLatest } from "./latest.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "latest-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const at = (iso: string) => new Date(iso);
const pointer = (stem: string, uploaded: string) =>
  latestPointer(stem, `weekly/${stem}.csv`, at(uploaded), `r-${stem}`, at("2026-12-04T00:00:00Z"));

describe("output/_latest.json", () => {
  it.each([
    ["no pointer yet", null, pointer("w1", "2026-11-01T00:00:00Z"), true],
    ["a later upload", pointer("w1", "2026-11-01T00:00:00Z"), pointer("w2", "2026-11-08T00:00:00Z"), true],
    [
      "an earlier upload (a forced rerun of an old week)",
      pointer("w2", "2026-11-08T00:00:00Z"),
      pointer("w1", "2026-11-01T00:00:00Z"),
      false,
    ],
    [
      "the pointed week republished",
      pointer("w2", "2026-11-08T00:00:00Z"),
      pointer("w2", "2026-11-08T00:00:00Z"),
      true,
    ],
  ])("%s: moves = %s", (_name, current, next, moves) => {
    expect(movesPointer(current, next)).toBe(moves);
  });

  it("is written by updateLatest only towards a newer upload, and parses back with its schema", async () => {
    expect(await updateLatest(storage, pointer("w2", "2026-11-08T00:00:00Z"))).toBe(true);
    expect(await updateLatest(storage, pointer("w1", "2026-11-01T00:00:00Z"))).toBe(false);
    const stored = parseLatest(await storage.readText(LATEST_OBJECT), LATEST_OBJECT);
    expect(stored).toMatchObject({ stem: "w2", prefix: "output/w2/", index: "lookup.index" });
    expect(await updateLatest(storage, pointer("w3", "2026-11-15T00:00:00Z"))).toBe(true);
    expect(parseLatest(await storage.readText(LATEST_OBJECT), LATEST_OBJECT).stem).toBe("w3");
  });

  it("replaces a pointer that does not parse, and names every problem of a bad one", async () => {
    await storage.write(LATEST_OBJECT, "{not json");
    expect(await updateLatest(storage, pointer("w1", "2026-11-01T00:00:00Z"))).toBe(true);
    expect(() => parseLatest('{"stem":"_x"}', "output/_latest.json")).toThrow(
      /output\/_latest.json is not a valid document: stem: must be a valid stem; prefix/,
    );
  });
});
