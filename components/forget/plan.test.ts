import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TransientError } from "../common/errors.js";
import { openStorage, type Storage } from "../common/storage/index.js";
import { assertNoRunInProgress, planForget } from "./plan.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "forget-plan-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const lease = (expires: number) => JSON.stringify({ holder: "h", acquired: 0, expires });

describe("planning a forget", () => {
  it("refuses while a lease is live, naming it, and ignores expired or unreadable leases", async () => {
    const now = 1_000_000;
    await storage.write("runs/r1/lease", lease(now - 1));
    await storage.write("runs/r2/lease", "{ half written");
    await storage.write("runs/r3/lease", JSON.stringify({ expires: now + 60_000 }));
    await expect(assertNoRunInProgress(storage, await storage.list(""), now)).resolves.toBeUndefined();
    await storage.write("runs/r4/lease", lease(now + 60_000));
    const refused = assertNoRunInProgress(storage, await storage.list(""), now);
    await expect(refused).rejects.toThrow(TransientError);
    await expect(assertNoRunInProgress(storage, await storage.list(""), now)).rejects.toThrow(
      /runs\/r4\/lease: a pipeline run is in progress \(lease held until 1970-01-01T00:17:40\.000Z\)/,
    );
  });

  it("scans everything but its records, the config and leases; data oldest upload first", async () => {
    await storage.write("weekly/b.csv", "customer_id\n1\n");
    await storage.write("weekly/a.csv", "customer_id\n1\n");
    await storage.write("churn.yaml", "id_column: customer_id\n");
    await storage.write("forget/old.json", "{}");
    await storage.write("runs/r1/lease", lease(0));
    const listed = await storage.list("");
    const times = new Map([
      ["weekly/b.csv", 1],
      ["weekly/a.csv", 2],
    ]);
    const aged: Storage = Object.assign(Object.create(storage), {
      list: async () => listed.map((o) => ({ ...o, updated: new Date(times.get(o.name) ?? 0) })),
    });
    const plan = await planForget(aged, { dryRun: true, now: 0 });
    expect(plan.all).toHaveLength(5);
    expect(plan.candidates.map((o) => o.name).sort()).toEqual(["weekly/a.csv", "weekly/b.csv"]);
    expect(plan.oldestFirst.map((o) => o.name)).toEqual(["weekly/b.csv", "weekly/a.csv"]);
    expect(plan.orphans).toBe(0);
  });
});
