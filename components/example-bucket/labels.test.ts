import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InputError, UsageError } from "../common/errors.js";
import { openStorage } from "../common/storage/index.js";
import type { Storage } from "../common/storage/types.js";
import { drawCustomer, exampleRows } from "./generate.js";
import { LABELS_HEADER, simulateLabels } from "./labels.js";
import { createRng } from "./rng.js";

const WEEKLY = "weekly/2026-W48.csv";
const LIST = "output/2026-W48/contact-list.csv";
const ROWS = 3_000;
const SEED = 5;

let dir: string;
let storage: Storage;

async function text(stream: AsyncIterable<Uint8Array>): Promise<string> {
  let out = "";
  for await (const chunk of stream) out += Buffer.from(chunk).toString("utf8");
  return out;
}

/** The planted probabilities of the weekly file's customers, drawn as the generator draws them. */
function plantedProbabilities(): Map<string, number> {
  const rng = createRng(SEED, 0);
  const out = new Map<string, number>();
  for (let i = 0; i < ROWS; i++) {
    const c = drawCustomer(rng, i, SEED);
    out.set(String(c.id), c.churnProbability);
  }
  return out;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-labels-"));
  storage = await openStorage(dir);
  await storage.write(WEEKLY, await text(exampleRows({ rows: ROWS, seed: SEED, labelled: false })));
  // Every customer listed; every 10th held back.
  const ids = (await storage.readText(WEEKLY))
    .trimEnd()
    .split("\n")
    .slice(1)
    .map((l) => l.split(",")[0]!);
  const lines = ids.map((id, i) => `${i + 1},${id},${i % 10 === 0 ? "control" : "contact"},high,0.5,,0.5,,`);
  await storage.write(
    LIST,
    `rank,CLIENTNUM,group,risk_tier,churn_probability,value,expected_retained_value,reason_1,reason_codes\n${lines.join("\n")}\n`,
  );
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("simulateLabels", () => {
  it("draws outcomes from the generator's planted probabilities, contacted ones cut by the effect", async () => {
    const none = await simulateLabels(storage, { weekly: WEEKLY, effect: 0, seed: 1, force: false });
    const noneText = await storage.readText("labels/2026-W48.csv");
    expect(noneText.split("\n")[0]).toBe(LABELS_HEADER);
    expect(none.rows).toBe(ROWS);
    expect(none.contact.customers + none.control.customers).toBe(ROWS);
    expect(none.control.customers).toBe(ROWS / 10);
    // The mean planted probability of the listed customers, recomputed from the file, is the generator's own
    // (to 3 decimals: the file prints Total_Ct_Chng_Q4_Q1 rounded, which moves a few customers across 0.55).
    const planted = plantedProbabilities();
    const mean = [...planted.values()].reduce((a, b) => a + b, 0) / ROWS;
    const listedMean =
      (none.contact.mean_probability * none.contact.customers +
        none.control.mean_probability * none.control.customers) /
      ROWS;
    expect(listedMean).toBeCloseTo(mean, 3);
    expect(none.true_absolute_reduction).toBe(0);

    const full = await simulateLabels(storage, { weekly: WEEKLY, effect: 1, seed: 1, force: true });
    expect(full.contact.churned).toBe(0);
    // The control group's draws do not depend on the effect.
    expect(full.control.churned).toBe(none.control.churned);
    expect(full.true_absolute_reduction).toBeCloseTo(mean, 3);

    const some = await simulateLabels(storage, { weekly: WEEKLY, effect: 0.3, seed: 1, force: true });
    expect(some.contact.churned).toBeLessThan(none.contact.churned);
    expect(some.contact.churned).toBeGreaterThan(0.55 * none.contact.churned);
    expect(some.true_relative_reduction).toBe(0.3);
    // Same arguments, same bytes.
    const again = await storage.readText("labels/2026-W48.csv");
    await simulateLabels(storage, { weekly: WEEKLY, effect: 0.3, seed: 1, force: true });
    expect(await storage.readText("labels/2026-W48.csv")).toBe(again);
  });

  it("refuses a week without a published contact list, an existing labels file, and a bad effect", async () => {
    await expect(
      simulateLabels(storage, { weekly: "weekly/2026-W49.csv", effect: 0.3, seed: 1, force: false }),
    ).rejects.toThrow(UsageError);
    await storage.write("weekly/2026-W49.csv", await storage.readText(WEEKLY));
    await expect(
      simulateLabels(storage, { weekly: "weekly/2026-W49.csv", effect: 0.3, seed: 1, force: false }),
    ).rejects.toThrow(/run the weekly pipeline on weekly\/2026-W49.csv first/);
    await simulateLabels(storage, { weekly: WEEKLY, effect: 0.3, seed: 1, force: false });
    await expect(
      simulateLabels(storage, { weekly: WEEKLY, effect: 0.3, seed: 1, force: false }),
    ).rejects.toThrow(/already exists: pass --force/);
    await expect(
      simulateLabels(storage, { weekly: WEEKLY, effect: 1.5, seed: 1, force: true }),
    ).rejects.toThrow(/between 0 and 1/);
  });

  it("names the row and column of a value the generator never writes", async () => {
    const rows = (await storage.readText(WEEKLY)).split("\n");
    rows[3] = rows[3]!
      .replace('"Blue"', '"Diamond"')
      .replace('"Silver"', '"Diamond"')
      .replace('"Gold"', '"Diamond"')
      .replace('"Platinum"', '"Diamond"');
    await storage.write(WEEKLY, rows.join("\n"));
    const error = await simulateLabels(storage, { weekly: WEEKLY, effect: 0.3, seed: 1, force: true }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect(error.message).toBe(
      `${WEEKLY} line 4, column "Card_Category": "Diamond" is not a value the example generator writes`,
    );
  });
});
