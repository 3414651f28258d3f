import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../common/hash.js";
import { rewriteStreamed } from "./rewrite-streamed.js";
import { testBuckets } from "./testing.js";

const { bucket, cleanup } = testBuckets();
afterEach(cleanup);

describe("streamed rewrites of CSV and Arrow", () => {
  it("streams a CSV through the row filter, counting what the writing pass removed", async () => {
    const { ctx, storage } = await bucket();
    await storage.write("weekly/w1.csv.gz", "customer_id,age\nc1,30\nc2,c1\n");
    expect(await rewriteStreamed(ctx, (await storage.stat("weekly/w1.csv.gz"))!)).toBe(true);
    expect(await storage.readText("weekly/w1.csv.gz")).toBe("customer_id,age\nc2,c1\n");
    const stored = await storage.readBytes("weekly/w1.csv.gz", { gunzip: false });
    expect(ctx.ledger.refs.get("weekly/w1.csv.gz")?.sha256).toBe(sha256Hex(stored));
    expect(ctx.ledger.changes[0]).toMatchObject({ kind: "csv", gzip: true, rows_removed: 1 });
    expect([...ctx.ledger.found]).toEqual(["c1"]);
  });

  it("leaves objects it cannot stream to the whole-object path", async () => {
    const { ctx, storage } = await bucket();
    await storage.write("runs/r/rows.arrow", "not arrow at all, c1");
    await storage.write("runs/r/log.txt", "c1");
    expect(await rewriteStreamed(ctx, (await storage.stat("runs/r/rows.arrow"))!)).toBe(false);
    expect(await rewriteStreamed(ctx, (await storage.stat("runs/r/log.txt"))!)).toBe(false);
    expect(ctx.ledger.changes).toEqual([]);
  });
});
