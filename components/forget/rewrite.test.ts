import { afterEach, describe, expect, it } from "vitest";
import { FileStorage } from "../common/storage/file.js";
import type { ReadOptions } from "../common/storage/types.js";
import { forgetInObject } from "./rewrite.js";
import { testBucket } from "./testing.js";

let cleanup: () => Promise<void> = async () => {};
afterEach(() => cleanup());

/** A bucket where another writer replaces `log.txt` right after forget first reads it. */
class RacedStorage extends FileStorage {
  raced = false;
  override async readBytes(name: string, options?: ReadOptions): Promise<Buffer> {
    const bytes = await super.readBytes(name, options);
    if (name === "runs/r/log.txt" && !this.raced) {
      this.raced = true;
      await this.write(name, "c1 again, and c2\n");
    }
    return bytes;
  }
}

describe("forgetting in one object", () => {
  it("reads each object in one phase only: CSV with the data, .json with the JSON", async () => {
    const bucket = await testBucket(["c1"]);
    cleanup = bucket.cleanup;
    const { ctx, storage } = bucket;
    await storage.write("weekly/w1.csv", "customer_id\nc1\nc2\n");
    await storage.write("runs/r/out.json", '["c1"]');
    const csv = (await storage.stat("weekly/w1.csv"))!;
    const json = (await storage.stat("runs/r/out.json"))!;
    await forgetInObject(ctx, csv, "json");
    await forgetInObject(ctx, json, "data");
    expect(ctx.ledger.changes).toEqual([]);
    await forgetInObject(ctx, csv, "data");
    await forgetInObject(ctx, json, "json");
    expect(await storage.readText("weekly/w1.csv")).toBe("customer_id\nc2\n");
    expect(await storage.readText("runs/r/out.json")).toBe("[]");
    expect(ctx.ledger.changes.map((c) => c.object)).toEqual(["weekly/w1.csv", "runs/r/out.json"]);
  });

  it("reads again and retries once when a writer replaced the object between read and write", async () => {
    const bucket = await testBucket(["c1", "c2"], {
      storage: (dir) => new RacedStorage(dir, `file://${dir}`),
    });
    cleanup = bucket.cleanup;
    const { ctx, storage } = bucket;
    await storage.write("runs/r/log.txt", "c1\n");
    await forgetInObject(ctx, (await storage.stat("runs/r/log.txt"))!, "data");
    expect(await storage.readText("runs/r/log.txt")).toBe("[forgotten] again, and [forgotten]\n");
    expect(ctx.ledger.changes).toHaveLength(1);
    expect(ctx.ledger.changes[0]).toMatchObject({ redacted: 2 });
  });

  it("fails naming the object when it was deleted after the listing (only a lost write race is retried)", async () => {
    const bucket = await testBucket(["c1"]);
    cleanup = bucket.cleanup;
    const info = await bucket.storage.write("runs/r/log.txt", "c1\n");
    await bucket.storage.delete("runs/r/log.txt");
    await expect(forgetInObject(bucket.ctx, info, "data")).rejects.toThrow(/runs\/r\/log\.txt/);
  });
});
