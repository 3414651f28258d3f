import { afterEach, describe, expect, it } from "vitest";
import { manifestText } from "../common/documents/manifest.js";
import { refreshManifests, updatedManifest } from "./manifests.js";
import { testBuckets } from "./testing.js";

const { bucket, cleanup } = testBuckets();
afterEach(cleanup);

describe("manifests of published folders", () => {
  const manifest = (files: Array<[string, string]>) =>
    manifestText({
      run_id: "r-0123456789abcdef",
      model_version: null,
      files: files.map(([name, generation]) => ({ name, size: 1, sha256: "0".repeat(64), generation })),
    });

  it("gets the new size, hash and generation of the files forget rewrote", async () => {
    const { ctx, storage } = await bucket();
    await storage.write(
      "output/w1/_SUCCESS",
      manifest([
        ["scores.csv", "1"],
        ["summary.json", "1"],
      ]),
    );
    await storage.write("output/w2/_SUCCESS", manifest([["scores.csv", "1"]]));
    ctx.ledger.noteRef("output/w1/scores.csv", { sha256: "a".repeat(64), size: 9, generation: "7" });
    const updated = await updatedManifest(
      storage,
      (await storage.stat("output/w1/_SUCCESS"))!,
      ctx.ledger.refs,
    );
    expect(updated?.files).toEqual([
      { name: "scores.csv", size: 9, sha256: "a".repeat(64), generation: "7" },
      { name: "summary.json", size: 1, sha256: "0".repeat(64), generation: "1" },
    ]);
    await refreshManifests(storage, await storage.list(""), ctx.ledger);
    expect(JSON.parse(await storage.readText("output/w1/_SUCCESS")).files[0].generation).toBe("7");
    expect(ctx.ledger.changes.map((c) => c.object)).toEqual(["output/w1/_SUCCESS"]);
  });

  it("leaves an older release's _SUCCESS (no manifest) alone", async () => {
    const { ctx, storage } = await bucket();
    await storage.write("output/w1/_SUCCESS", "");
    ctx.ledger.noteRef("output/w1/scores.csv", { sha256: "a".repeat(64), size: 9, generation: "7" });
    expect(
      await updatedManifest(storage, (await storage.stat("output/w1/_SUCCESS"))!, ctx.ledger.refs),
    ).toBeNull();
  });
});
