import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isRunId, leaseObject, runIdFor } from "../components/common/layout/index.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { tryAcquireLease } from "./lease.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "lease-"));
  storage = await openStorage(dir);
});
afterEach(async () => {
  // maxRetries: the store may still be sweeping its own temp files when a test ends.
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe("run ids", () => {
  it("are r- plus 16 hex digits, stable, and change with any part of the identity", () => {
    const id = runIdFor("weekly", "gs://b", { name: "weekly/w1.csv", generation: "1" });
    expect(isRunId(id)).toBe(true);
    expect(id).toHaveLength(18);
    expect(runIdFor("weekly", "gs://b", { name: "weekly/w1.csv", generation: "1" })).toBe(id);
    expect(runIdFor("weekly", "gs://b", { name: "weekly/w1.csv", generation: "2" })).not.toBe(id);
    expect(runIdFor("retrain", "gs://b", { name: "weekly/w1.csv", generation: "1" })).not.toBe(id);
    expect(runIdFor("weekly", "gs://b", { name: "weekly/w1.csv", generation: "1" }, 2)).toBe(`${id}-a2`);
  });
  it("for a set of objects ignore their order", () => {
    const a = { name: "input/a.csv", generation: "1" };
    const b = { name: "labels/b.csv", generation: "7" };
    expect(runIdFor("retrain", "gs://b", [a, b])).toBe(runIdFor("retrain", "gs://b", [b, a]));
  });
});

describe("leases", () => {
  it("exactly one of many concurrent acquirers wins", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => tryAcquireLease(storage, "r-0000000000000001", `h${i}`)),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    const loser = results.find((r) => !r.acquired);
    expect(loser && !loser.acquired && loser.expiresInMs).toBeGreaterThan(0);
  });

  it("an expired lease is taken over; the old holder's renewal then fails", async () => {
    let clock = 1_000_000;
    const now = () => clock;
    const first = await tryAcquireLease(storage, "r-0000000000000002", "old", { ttlMs: 1000, now });
    expect(first.acquired).toBe(true);
    const blocked = await tryAcquireLease(storage, "r-0000000000000002", "new", { ttlMs: 1000, now });
    expect(blocked).toMatchObject({ acquired: false, holder: "old" });
    clock += 1500;
    const second = await tryAcquireLease(storage, "r-0000000000000002", "new", { ttlMs: 1000, now });
    expect(second.acquired).toBe(true);
    if (!first.acquired) throw new Error("unreachable");
    await expect(first.lease.renew()).rejects.toThrow(/changed/);
  });

  it("a slow store never makes the heartbeat lose its own lease", async () => {
    // Each lease write takes longer than the heartbeat interval, as on a loaded machine.
    const slow: Storage = Object.create(storage);
    slow.write = async (name, data, options) => {
      await new Promise((r) => setTimeout(r, 120));
      return storage.write(name, data, options);
    };
    let lost: string | null = null;
    const result = await tryAcquireLease(slow, "r-0000000000000004", "me", {
      ttlMs: 150,
      onLost: (reason) => (lost = reason),
    });
    if (!result.acquired) throw new Error("not acquired");
    result.lease.startHeartbeat();
    await new Promise((r) => setTimeout(r, 900));
    result.lease.stopHeartbeat();
    expect(lost).toBeNull();
    expect(result.lease.isLost).toBe(false);
    expect(JSON.parse(await storage.readText(leaseObject("r-0000000000000004"))).holder).toBe("me");
  });

  it("release deletes the lease so the next runner gets it at once", async () => {
    const first = await tryAcquireLease(storage, "r-0000000000000003", "a");
    if (!first.acquired) throw new Error("expected to acquire");
    await first.lease.renew();
    await first.lease.release();
    expect(await storage.stat(leaseObject("r-0000000000000003"))).toBeNull();
    expect((await tryAcquireLease(storage, "r-0000000000000003", "b")).acquired).toBe(true);
  });

  it("an unreadable lease (half-written, or edited by hand) counts as expired and is taken over", async () => {
    await storage.write(leaseObject("r-0000000000000004"), '{"holder": "a", "expires');
    const taken = await tryAcquireLease(storage, "r-0000000000000004", "b");
    expect(taken.acquired).toBe(true);
    if (taken.acquired) await taken.lease.release();
  });
});
