import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import type { Storage } from "../common/storage/types.js";
import type { ForgetContext, Phase } from "./context.js";
import { kindOf } from "./kinds.js";
import { rewriteWhole } from "./rewrite-whole.js";
import { testBucket } from "./testing.js";

let cleanup: () => Promise<void> = async () => {};
afterEach(() => cleanup());

async function setUp(objects: Record<string, string>, options: { dryRun?: boolean } = {}) {
  const bucket = await testBucket(["c1", "c2"], options);
  cleanup = bucket.cleanup;
  for (const [name, text] of Object.entries(objects)) await bucket.storage.write(name, text);
  return bucket;
}

async function rewrite(ctx: ForgetContext, storage: Storage, name: string, phase: Phase) {
  const info = (await storage.stat(name))!;
  const bytes = await storage.readBytes(name);
  await rewriteWhole(ctx, { info, bytes, kind: kindOf(name, bytes) }, phase);
}

describe("objects read whole", () => {
  it("redacts text in the data phase, keeping gzip, and leaves JSON for the JSON phase", async () => {
    const { ctx, storage, lines } = await setUp({
      "runs/r/steps/s/log.txt.gz": "warning about c1 and c12\n",
      "runs/r/steps/s/summary.json": '{"ids": ["c1", "c3"]}',
    });
    await rewrite(ctx, storage, "runs/r/steps/s/log.txt.gz", "data");
    await rewrite(ctx, storage, "runs/r/steps/s/summary.json", "data");
    const raw = await storage.readBytes("runs/r/steps/s/log.txt.gz", { gunzip: false });
    expect(gunzipSync(raw).toString()).toBe("warning about [forgotten] and c12\n");
    expect(await storage.readText("runs/r/steps/s/summary.json")).toBe('{"ids": ["c1", "c3"]}');
    expect(ctx.ledger.changes).toEqual([
      expect.objectContaining({ object: "runs/r/steps/s/log.txt.gz", kind: "text", gzip: true, redacted: 1 }),
    ]);
    expect(lines).toEqual(["rewrote runs/r/steps/s/log.txt.gz: 1 mention(s) redacted"]);
  });

  it("scrubs JSON in its own layout and counts removed elements", async () => {
    const { ctx, storage } = await setUp({ "monitoring/realised.json": '{\n  "ids": ["c1", "c3"]\n}\n' });
    await rewrite(ctx, storage, "monitoring/realised.json", "json");
    expect(await storage.readText("monitoring/realised.json")).toBe('{\n  "ids": [\n    "c3"\n  ]\n}\n');
    expect(ctx.ledger.changes[0]).toMatchObject({ kind: "json", rows_removed: 1, redacted: 0 });
    expect([...ctx.ledger.found]).toEqual(["c1"]);
  });

  it("deletes a cache entry that holds a customer or points at a rewritten object", async () => {
    const { ctx, storage, lines } = await setUp({
      "cache/a.json": '{"rows": ["c2"]}',
      "cache/b.json": '{"output": {"object": "runs/r/rows.arrow"}}',
      "cache/c.json": '{"output": {"object": "runs/r/other.arrow"}}',
    });
    ctx.ledger.touched.add("runs/r/rows.arrow");
    for (const name of ["cache/a.json", "cache/b.json", "cache/c.json"])
      await rewrite(ctx, storage, name, "json");
    expect((await storage.list("cache/")).map((o) => o.name)).toEqual(["cache/c.json"]);
    expect(lines).toEqual(["deleted cache entry cache/a.json", "deleted cache entry cache/b.json"]);
    expect(ctx.ledger.changes.map((c) => c.action)).toEqual(["deleted", "deleted"]);
  });

  it("redacts a .json object that is not valid JSON as text", async () => {
    const { ctx, storage } = await setUp({ "runs/r/broken.json": '{"ids": ["c1", ' });
    await rewrite(ctx, storage, "runs/r/broken.json", "json");
    expect(await storage.readText("runs/r/broken.json")).toBe('{"ids": ["[forgotten]", ');
    expect(ctx.ledger.changes[0]).toMatchObject({ kind: "text", redacted: 1 });
  });

  it("drops CSV rows by the id column only", async () => {
    const { ctx, storage } = await setUp({ "output/w1/odd.csv": "customer_id,n\nc1,1\nc3,c2\n" });
    const info = (await storage.stat("output/w1/odd.csv"))!;
    const bytes = await storage.readBytes(info.name);
    await rewriteWhole(ctx, { info, bytes, kind: "csv" }, "data");
    expect(await storage.readText("output/w1/odd.csv")).toBe("customer_id,n\nc3,c2\n");
    expect(ctx.ledger.changes[0]).toMatchObject({ kind: "csv", rows_removed: 1 });
  });

  it("reports models and unknown binaries that mention an id, and never rewrites them", async () => {
    const { ctx, storage } = await setUp({
      "models/v1/bundle.json": '{"examples": ["c1"]}',
      "models/v2/bundle.json": '{"weights": [1, 2]}',
      "runs/r/blob": "\u0000\u0001c2\u0002",
    });
    await rewrite(ctx, storage, "models/v1/bundle.json", "json");
    await rewrite(ctx, storage, "models/v2/bundle.json", "json");
    await rewrite(ctx, storage, "runs/r/blob", "data");
    expect(ctx.ledger.unhandled.map((u) => u.object)).toEqual(["models/v1/bundle.json", "runs/r/blob"]);
    expect(ctx.ledger.unhandled[0]!.reason).toMatch(/content-addressed/);
    expect(await storage.readText("models/v1/bundle.json")).toBe('{"examples": ["c1"]}');
    expect(ctx.ledger.changes).toEqual([]);
  });

  it("writes nothing in a dry run but notes what it would do", async () => {
    const { ctx, storage, lines } = await setUp(
      { "runs/r/log.txt": "c1\n", "cache/a.json": '["c1"]' },
      { dryRun: true },
    );
    await rewrite(ctx, storage, "runs/r/log.txt", "data");
    await rewrite(ctx, storage, "cache/a.json", "json");
    expect(await storage.readText("runs/r/log.txt")).toBe("c1\n");
    expect(await storage.stat("cache/a.json")).not.toBeNull();
    expect(lines).toEqual([
      "would rewrite runs/r/log.txt: 1 mention(s) redacted",
      "would delete cache entry cache/a.json",
    ]);
    expect(ctx.ledger.refs.size).toBe(0);
  });
});
