import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConflictError, InputError, NotFoundError, UsageError } from "../errors.js";
import { bundleObject } from "../layout/index.js";
import { openStorage, type Storage } from "../storage/index.js";
import {
  type Bundle,
  bundleVersion,
  listBundleVersions,
  promote,
  readBundle,
  readChampion,
  rollback,
  writeBundle,
} from "./index.js";

function bundle(auc: number): Bundle {
  return {
    format: "churn-bundle/1",
    schema: { idColumn: "id" },
    transform: { features: ["a"] },
    model: { family: "logistic", coef: [0.5], intercept: -1 },
    calibration: null,
    tiers: { high: 0.7, medium: 0.4 },
    metrics: { roc_auc: auc },
    training: { seed: 42 },
  };
}

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "bundle-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("model bundles", () => {
  it("are named by a content hash and read back intact", async () => {
    const { version } = await writeBundle(storage, bundle(0.9), { "report.json": "{}" });
    expect(version).toMatch(/^[0-9a-f]{16}$/);
    expect(version).toBe(bundleVersion(bundle(0.9)));
    expect(version).not.toBe(bundleVersion(bundle(0.91)));
    expect((await readBundle(storage, version)).bundle.metrics.roc_auc).toBe(0.9);
    expect((await storage.stat(bundleObject(version)))?.metadata["churn-writer"]).toBe("train");
    expect(await listBundleVersions(storage)).toEqual([expect.objectContaining({ version })]);
  });

  it("refuse a bundle whose content no longer matches its version", async () => {
    const { version } = await writeBundle(storage, bundle(0.9));
    await writeFile(join(dir, bundleObject(version)), JSON.stringify({ ...bundle(0.99) }));
    await expect(readBundle(storage, version)).rejects.toThrow(InputError);
  });

  it("say which model is missing", async () => {
    await expect(readBundle(storage, "0123456789abcdef")).rejects.toThrow(NotFoundError);
  });
});

describe("champion pointer", () => {
  it("promotes, keeps history and rolls back", async () => {
    const a = (await writeBundle(storage, bundle(0.85))).version;
    const b = (await writeBundle(storage, bundle(0.9))).version;
    expect(await readChampion(storage)).toBeNull();
    await promote(storage, a, "first model");
    const after = await promote(storage, b, "better");
    expect(after).toMatchObject({ version: b, previous: [a] });
    const back = await rollback(storage, "bad week");
    expect(back).toMatchObject({ version: a, previous: [] });
    await expect(rollback(storage)).rejects.toThrow(UsageError);
  });

  it("refuses to promote an incomplete bundle", async () => {
    await storage.write("models/0123456789abcdef/report.json", "{}");
    await expect(promote(storage, "0123456789abcdef", "x")).rejects.toThrow(NotFoundError);
  });

  it("lets only one of two concurrent promotions win", async () => {
    const a = (await writeBundle(storage, bundle(0.81))).version;
    const b = (await writeBundle(storage, bundle(0.82))).version;
    const results = await Promise.allSettled([promote(storage, a, "a"), promote(storage, b, "b")]);
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
  });
});
