import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { sha256Hex } from "../hash.js";
import { openStorage } from "../storage/index.js";
import type { Storage } from "../storage/types.js";
import {
  LIFETIME_VALUE_COLUMN,
  LIFETIME_VALUES_SETTING,
  latestLifetimeOutput,
  lifetimeColumnIndex,
  missingLifetimeOutputMessage,
  parseLifetimeValue,
} from "./lifetime-output.js";
import { buildManifest, manifestText } from "./manifest.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "lifetime-output-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const CUSTOMERS = `customer_id,prob_alive,${LIFETIME_VALUE_COLUMN}\nc1,0.9,120.5\n`;

/** A published lifetime folder: its files, then `_SUCCESS` listing them, published at `at`. */
async function publish(stem: string, files: Record<string, string>, at: Date): Promise<void> {
  const prefix = `output/lifetime/${stem}/`;
  const published = [];
  for (const [name, text] of Object.entries(files)) {
    const info = await storage.write(`${prefix}${name}`, text);
    published.push({ name, info, sha256: sha256Hex(text) });
  }
  await storage.write(`${prefix}_SUCCESS`, manifestText(buildManifest(`r-${stem}`, null, published)));
  await utimes(join(dir, `${prefix}_SUCCESS`), at, at);
}

describe("latestLifetimeOutput", () => {
  it("is null on a bucket without lifetime outputs", async () => {
    await storage.write("output/2026-W48/_SUCCESS", "{}");
    expect(await latestLifetimeOutput(storage)).toBeNull();
  });

  it("is the complete folder published last, with customers.csv as its manifest lists it", async () => {
    await publish("2026-10", { "customers.csv": CUSTOMERS }, new Date("2026-11-01T00:00:00Z"));
    const newer = `${CUSTOMERS}c2,0.5,\n`;
    await publish("2025-full", { "customers.csv": newer }, new Date("2026-11-20T00:00:00Z"));
    const latest = await latestLifetimeOutput(storage);
    expect(latest).toMatchObject({
      stem: "2025-full",
      prefix: "output/lifetime/2025-full/",
      customers: {
        object: "output/lifetime/2025-full/customers.csv",
        sha256: sha256Hex(newer),
        size: Buffer.byteLength(newer),
      },
    });
    expect(latest!.customers.generation).toBe(
      (await storage.stat("output/lifetime/2025-full/customers.csv"))!.generation,
    );
  });

  it("skips a folder a publish is replacing, one without customers.csv, and files outside folders", async () => {
    await publish("old", { "customers.csv": CUSTOMERS }, new Date("2026-11-01T00:00:00Z"));
    await publish("alerts-only", { "alerts.csv": "customer_id\n" }, new Date("2026-11-10T00:00:00Z"));
    await publish("replacing", { "customers.csv": CUSTOMERS }, new Date("2026-11-20T00:00:00Z"));
    // A newer publish of that folder has rewritten customers.csv but not yet its manifest.
    await storage.write("output/lifetime/replacing/customers.csv", `${CUSTOMERS}c9,0.1,1\n`);
    await storage.write("output/lifetime/_SUCCESS", "{}");
    await storage.write("output/lifetime/deep/er/_SUCCESS", "{}");
    expect((await latestLifetimeOutput(storage))?.stem).toBe("old");
  });
});

describe("reading customers.csv", () => {
  it("finds a figure's column by name after the id column, or names the file and the column", () => {
    expect(
      lifetimeColumnIndex(
        ["customer_id", "prob_alive", LIFETIME_VALUE_COLUMN],
        LIFETIME_VALUE_COLUMN,
        "c.csv",
      ),
    ).toBe(2);
    expect(() => lifetimeColumnIndex(["customer_id", "prob_alive"], LIFETIME_VALUE_COLUMN, "c.csv")).toThrow(
      /c\.csv: the header has no column "lifetime_value"/,
    );
    // The first column is the id, never a figure.
    expect(() => lifetimeColumnIndex([LIFETIME_VALUE_COLUMN], LIFETIME_VALUE_COLUMN, "c.csv")).toThrow(
      InputError,
    );
  });

  it.each([
    ["", null],
    ["0", 0],
    ["1234.5678", 1234.5678],
    ["-3.5", -3.5],
  ])("value %j is %j", (text, value) => {
    expect(parseLifetimeValue(text, "c.csv", 7)).toBe(value);
  });

  it.each(["abc", "NaN", "Infinity", "1,5"])(
    "value %j is refused, naming the file, line and column",
    (text) => {
      expect(() => parseLifetimeValue(text, "output/lifetime/s/customers.csv", 7)).toThrow(
        `output/lifetime/s/customers.csv line 7, column "lifetime_value": "${text}" is not a number`,
      );
    },
  );
});

it("the missing-output message names the setting and the command that makes an output", () => {
  expect(missingLifetimeOutputMessage("file:///tmp/b", LIFETIME_VALUES_SETTING)).toBe(
    "churn.yaml campaign.value_column is lifetime, but file:///tmp/b has no complete lifetime output under output/lifetime/: run `churn pipeline run lifetime --bucket file:///tmp/b` first (it scores the newest purchase log under transactions/)",
  );
});
