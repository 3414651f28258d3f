import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { ConflictError } from "../common/errors.js";
import { sha256Hex } from "../common/hash.js";
import { publishStreamed, publishWhole, rewriteOf } from "./publish.js";
import { testBuckets } from "./testing.js";

const { bucket, cleanup } = testBuckets();
afterEach(cleanup);

describe("writing rewritten objects back", () => {
  it("keeps gzip, writes only over the generation read, and notes the stored bytes' hash", async () => {
    const { ctx, storage } = await bucket();
    const before = await storage.write("runs/r/log.txt.gz", "c1\n");
    await publishWhole(ctx, before, Buffer.from("[forgotten]\n"), rewriteOf(before, "text", 0, 1));
    const stored = await storage.readBytes("runs/r/log.txt.gz", { gunzip: false });
    expect(gunzipSync(stored).toString()).toBe("[forgotten]\n");
    const after = (await storage.stat("runs/r/log.txt.gz"))!;
    expect(ctx.ledger.refs.get(after.name)).toEqual({
      sha256: sha256Hex(stored),
      size: stored.length,
      generation: after.generation,
    });
    expect(ctx.ledger.changes[0]).toMatchObject({
      gzip: true,
      generation_before: before.generation,
      generation_after: after.generation,
    });
    await expect(
      publishWhole(ctx, before, Buffer.from("x"), rewriteOf(before, "text", 0, 1)),
    ).rejects.toThrow(ConflictError);
  });

  it("writes nothing in a dry run and keeps the counting pass's figure", async () => {
    const { ctx, storage } = await bucket({ dryRun: true });
    const info = await storage.write("weekly/w1.csv", "customer_id\nc1\nc1\n");
    await publishStreamed(ctx, info, "csv", 2, () => {
      throw new Error("a dry run must not produce the kept rows");
    });
    expect(await storage.readText("weekly/w1.csv")).toBe("customer_id\nc1\nc1\n");
    expect(ctx.ledger.changes[0]).toMatchObject({ rows_removed: 2, generation_after: null });
  });
});
