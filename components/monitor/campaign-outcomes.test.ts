import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError } from "../common/errors.js";
import { openStorage } from "../common/storage/index.js";
import type { Storage } from "../common/storage/types.js";
import { countGroups, updateCampaignEffect } from "./campaign-outcomes.js";

const HEADER =
  "rank,id,group,risk_tier,churn_probability,value,expected_retained_value,reason_1,reason_codes";
const list = (rows: Array<[string, "contact" | "control"]>) =>
  `${HEADER}\n${rows.map(([id, g], i) => `${i + 1},${id},${g},high,0.9,,0.9,"Card category: Blue",Card:+1`).join("\n")}\n`;

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "campaign-outcomes-"));
  storage = await openStorage(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("countGroups", () => {
  it("counts contacted and control customers, with and without an outcome", async () => {
    const outcome = new Map<string, 0 | 1>([
      ["a", 1],
      ["b", 0],
      ["c", 1],
    ]);
    const text = list([
      ["a", "contact"],
      ["b", "contact"],
      ["x", "contact"],
      ["c", "control"],
    ]);
    expect(await countGroups(Readable.from([Buffer.from(text)]), "l.csv", outcome)).toEqual({
      contact: { listed: 3, with_outcome: 2, churned: 1 },
      control: { listed: 1, with_outcome: 1, churned: 1 },
    });
  });

  it("names the file, line and column of a bad group, and refuses a file that is no contact list", async () => {
    const bad = `${HEADER}\n1,a,maybe,high,0.9,,0.9,,\n`;
    await expect(countGroups(Readable.from([Buffer.from(bad)]), "l.csv", new Map())).rejects.toThrow(
      'l.csv line 2, column "group": "maybe" is neither contact nor control',
    );
    await expect(
      countGroups(Readable.from([Buffer.from("id,p\n1,0.2\n")]), "s.csv", new Map()),
    ).rejects.toThrow(InputError);
  });
});

describe("updateCampaignEffect", () => {
  it("counts each labelled week once into monitoring/campaign/<stem>.json and accumulates from those", async () => {
    await storage.write(
      "output/w1/contact-list.csv",
      list([
        ["a", "contact"],
        ["b", "contact"],
        ["c", "control"],
      ]),
    );
    await storage.write(
      "output/w2/contact-list.csv",
      list([
        ["d", "contact"],
        ["e", "control"],
      ]),
    );
    await storage.write("labels/w1.csv", "id,churned\na,0\nb,0\nc,1\n");
    // Labels for a week that published no contact list are left alone.
    await storage.write("labels/w0.csv", "id,churned\nz,1\n");
    const first = await updateCampaignEffect(storage, null, new Date("2026-12-01T00:00:00Z"));
    expect(first.arrived).toEqual(["w1"]);
    expect(first.weeks.map((w) => w.week)).toEqual(["w1"]);
    expect(first.weeks[0]!.contact).toEqual({ customers: 2, churned: 0, churn_rate: 0 });
    expect(first.weeks[0]!.control).toEqual({ customers: 1, churned: 1, churn_rate: 1 });
    expect(first.weeks[0]!.absolute_reduction.estimate).toBe(1);
    const stored = JSON.parse(await storage.readText("monitoring/campaign/w1.json"));
    expect(stored).toMatchObject({
      week: "w1",
      labels_object: "labels/w1.csv",
      computed_at: "2026-12-01T00:00:00.000Z",
    });

    await storage.write("labels/w2.csv", "id,churned\nd,1\ne,1\n");
    // The old list is not read again: a deleted list leaves its counted week as it was.
    await storage.delete("output/w1/contact-list.csv");
    const second = await updateCampaignEffect(storage, null);
    expect(second.arrived).toEqual(["w2"]);
    expect(second.weeks.map((w) => w.week)).toEqual(["w1", "w2"]);
    expect(second.accumulated!.weeks).toBe(2);
    expect(second.accumulated!.contact.customers).toBe(3);
    // Strata weighted by customers with an outcome: (3/5) * 1 + (2/5) * 0.
    expect(second.accumulated!.absolute_reduction.estimate).toBeCloseTo(0.6, 6);

    // Rewritten labels are counted again; unchanged ones are not.
    await storage.write("labels/w2.csv", "id,churned\nd,0\ne,1\n");
    const third = await updateCampaignEffect(storage, null);
    expect(third.arrived).toEqual(["w2"]);
    expect(third.weeks[1]!.contact.churned).toBe(0);
    expect((await updateCampaignEffect(storage, null)).arrived).toEqual([]);
  });

  it("refuses a stored week document that does not match its schema, naming it", async () => {
    await storage.write("monitoring/campaign/w1.json", JSON.stringify({ week: "w1", contact: 3 }));
    await expect(updateCampaignEffect(storage, null)).rejects.toThrow(
      /monitoring\/campaign\/w1.json is not a valid document/,
    );
  });
});
