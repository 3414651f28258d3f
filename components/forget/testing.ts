import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStorage } from "../common/storage/file.js";
import type { Storage } from "../common/storage/types.js";
import type { ForgetContext } from "./context.js";
import { ForgetIds } from "./ids.js";
import { ForgetLedger } from "./ledger.js";

/** The id rule the unit tests of forget's parts use. */
export const TEST_RULE = { idColumns: ["customer_id"], firstColumnIsId: false };

/** A local bucket in a temp folder and a forget context over it, for the unit tests of forget's parts. */
export async function testBucket(
  ids: string[],
  options: { dryRun?: boolean; storage?: (dir: string) => FileStorage } = {},
): Promise<{ ctx: ForgetContext; storage: Storage; lines: string[]; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "forget-part-"));
  const storage = options.storage ? options.storage(dir) : new FileStorage(dir, `file://${dir}`);
  const lines: string[] = [];
  const forgetIds = new ForgetIds(ids);
  const ledger = new ForgetLedger(forgetIds, options.dryRun ?? false, (l) => lines.push(l));
  return {
    ctx: { storage, ids: forgetIds, idRule: TEST_RULE, ledger },
    storage,
    lines,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * testBucket for the ids ["c1"], each one remembered so that `cleanup`
 * (the test file's afterEach) removes them all.
 */
export function testBuckets(): {
  bucket: (options?: { dryRun?: boolean }) => ReturnType<typeof testBucket>;
  cleanup: () => Promise<void>;
} {
  const made: (() => Promise<void>)[] = [];
  return {
    async bucket(options = {}) {
      const b = await testBucket(["c1"], options);
      made.push(b.cleanup);
      return b;
    },
    async cleanup() {
      await Promise.all(made.splice(0).map((remove) => remove()));
    },
  };
}
