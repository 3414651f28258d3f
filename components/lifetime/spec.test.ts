import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashObject, runStep, writeInputDoc } from "../common/component/run.js";
import type { ObjectRef } from "../common/component/spec.js";
import { openStorage, type Storage } from "../common/storage/index.js";
import { loadComponent } from "../index.js";
import { bgnbdExpectedPurchases, bgnbdProbAlive } from "../models/lifetime/bgnbd.js";
import { customerLifetimeValue } from "../models/lifetime/clv.js";
import { expectedSpend } from "../models/lifetime/gamma-gamma.js";
import { parseLifetimeModel } from "../models/lifetime/params.js";
import { inactivityAlerts } from "./alerts.js";
import { rfmScores } from "./rfm.js";
import { CUSTOMERS_CSV_COLUMNS } from "./spec.js";

// The four lifetime components run one after another in-process on a small
// hand-made log, and customers.csv / alerts.csv are checked row by row
// against the tested model functions: this is the components' wiring.

let dir: string;
let storage: Storage;

/** 40 customers with varied rhythms: customer k buys every (k % 7 + 1) weeks, k % 9 times, from week k % 5. */
function log(): string {
  const lines = ["customer,day,spend"];
  for (let k = 0; k < 40; k++) {
    const start = Date.UTC(2024, 0, 1) + (k % 5) * 7 * 86_400_000;
    for (let j = 0; j <= k % 9; j++) {
      const d = new Date(start + j * ((k % 7) + 1) * 7 * 86_400_000);
      lines.push(`k${k},${d.toISOString().slice(0, 10)},${10 + k + j}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

const CONFIG = `id_column: customer
transactions: {customer_column: customer, time_column: day, value_column: spend, observation_end: "2024-12-31"}
lifetime: {horizon_days: 28, alert_inactive_days: 120}
`;

async function step(
  name: string,
  inputs: Record<string, string>,
  parameters: Record<string, unknown> = {},
): Promise<Record<string, ObjectRef>> {
  const refs: Record<string, ObjectRef[]> = {};
  for (const [port, object] of Object.entries(inputs)) refs[port] = [await hashObject(storage, object)];
  await writeInputDoc(storage, { component: name, run: "r-test", step: name, inputs: refs, parameters });
  const { output } = await runStep(storage, "r-test", name, { load: loadComponent });
  lastWarnings = output.warnings ?? [];
  return output.outputs;
}
let lastWarnings: Array<{ code: string; message: string }> = [];

const csvRows = async (object: string) =>
  (await storage.readText(object))
    .trimEnd()
    .split("\n")
    .map((l) => l.split(","));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "lifetime-spec-"));
  storage = await openStorage(dir);
  await storage.write("churn.yaml", CONFIG);
  await storage.write("transactions/shop.csv", log());
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("lifetime components", () => {
  it("without a value column: no spend model, empty lifetime_value, and a warning saying why", async () => {
    await storage.write("churn-novalue.yaml", CONFIG.replace("value_column: spend", "value_column: null"));
    const ingest = await step("ingest-transactions", {
      data: "transactions/shop.csv",
      config: "churn-novalue.yaml",
    });
    const fit = await step("fit-lifetime", {
      customers: ingest.customers!.object,
      config: "churn-novalue.yaml",
    });
    expect(lastWarnings.map((w) => w.code)).toEqual(["no-lifetime-value"]);
    expect(lastWarnings[0]!.message).toMatch(/value_column is null/);
    const model = parseLifetimeModel(await storage.readText(fit.model!.object), "model.json");
    expect(model.model === "bgnbd" && model.spend).toBe(null);
    const rfm = await step("rfm", { customers: ingest.customers!.object });
    const score = await step("score-lifetime", {
      customers: ingest.customers!.object,
      rfm: rfm.rfm!.object,
      model: fit.model!.object,
      config: "churn-novalue.yaml",
    });
    const rows = await csvRows(score.customers!.object);
    expect(rows.slice(1).every((r) => r.length === 14 && r[12] === "" && r[13] === "")).toBe(true);
  });

  it("ingest → rfm → fit → score agree with the model functions row by row", async () => {
    const ingest = await step("ingest-transactions", {
      data: "transactions/shop.csv",
      config: "churn.yaml",
    });
    const customers = JSON.parse(await storage.readText(ingest.customers!.object)) as {
      customers: Array<[string, number, number, number, number]>;
    };
    expect(customers.customers).toHaveLength(40);
    const rfm = await step("rfm", { customers: ingest.customers!.object });
    const fit = await step("fit-lifetime", { customers: ingest.customers!.object, config: "churn.yaml" });
    const model = parseLifetimeModel(await storage.readText(fit.model!.object), "model.json");
    if (model.model !== "bgnbd") throw new Error("expected a BG/NBD model");
    const score = await step("score-lifetime", {
      customers: ingest.customers!.object,
      rfm: rfm.rfm!.object,
      model: fit.model!.object,
      config: "churn.yaml",
      ingest: ingest.profile!.object,
    });

    const rows = await csvRows(score.customers!.object);
    // The column contract itself is pinned literally in test/lifetime.pipeline.test.ts.
    expect(rows[0]).toEqual(["customer", ...CUSTOMERS_CSV_COLUMNS]);
    // The spend model rides in the model document and prices every customer.
    const spend = model.spend;
    if (!spend) throw new Error("expected a spend model: the log has repeat buyers with amounts");
    expect(spend.fit.customers).toBeGreaterThan(1);
    const histories = customers.customers.map(([id, frequency, recency, T, monetary]) => ({
      id,
      frequency,
      recency,
      T,
      monetary,
    }));
    const scores = rfmScores(histories);
    histories.forEach((h, i) => {
      const row = rows[i + 1]!;
      expect(row[0]).toBe(h.id);
      expect(Number(row[1])).toBe(h.frequency);
      expect(Number(row[2])).toBeCloseTo(h.recency, 5);
      expect(row.slice(5, 9)).toEqual([
        String(scores[i]!.r),
        String(scores[i]!.f),
        String(scores[i]!.m),
        scores[i]!.segment,
      ]);
      expect(Number(row[10])).toBeCloseTo(bgnbdProbAlive(model.params, h), 5);
      expect(Number(row[11])).toBeCloseTo(bgnbdExpectedPurchases(model.params, 4, h), 5);
      const expectedValue = expectedSpend(spend.params, h);
      expect(Number(row[12])).toBeCloseTo(expectedValue, 3);
      const value = customerLifetimeValue(model.params, h, expectedValue, {
        months: 12,
        monthlyDiscount: 0.01,
        timeUnit: "week",
      });
      expect(Number(row[13])).toBeCloseTo(value, 3);
    });
    // k9 buys every 3 weeks, 1 purchase: frequency 0, and T from its first day to observation_end in weeks.
    const k9 = histories.find((h) => h.id === "k9")!;
    expect(k9.frequency).toBe(0);
    expect(k9.T).toBeCloseTo((Date.UTC(2024, 11, 31) - Date.UTC(2024, 0, 29)) / 86_400_000 / 7, 9);

    const expectedAlerts = inactivityAlerts(
      histories.map((h) => ({ ...h, probAlive: bgnbdProbAlive(model.params, h) })),
      { probAlive: 0.3, inactiveDays: 120, rhythmFactor: 3, minRepeatPurchases: 2 },
      "week",
    );
    const alerts = (await storage.readText(score.alerts!.object)).trimEnd().split("\n");
    expect(alerts[0]).toBe("customer,segment,prob_alive,days_inactive,rules,reason");
    expect(alerts.length - 1).toBe(expectedAlerts.length);
    expect(expectedAlerts.length).toBeGreaterThan(0);
    expectedAlerts.forEach((a, i) => {
      expect(alerts[i + 1]).toContain(`${a.id},`);
      expect(alerts[i + 1]).toContain(a.rules.join("+"));
    });
    const summary = JSON.parse(await storage.readText(score.summary!.object));
    expect(summary.counts).toMatchObject({ customers: 40, alerts: expectedAlerts.length, rejected: 0 });
    expect(summary.horizon_days).toBe(28);
  });

  it("refuses an rfm document from another run", async () => {
    const ingest = await step("ingest-transactions", { data: "transactions/shop.csv", config: "churn.yaml" });
    await storage.write(
      "other/customers.json",
      (await storage.readText(ingest.customers!.object)).replace(/,\["k39"[^\]]*\]/, ""),
    );
    const rfm = await step("rfm", { customers: "other/customers.json" });
    const fit = await step("fit-lifetime", { customers: ingest.customers!.object, config: "churn.yaml" });
    await expect(
      step("score-lifetime", {
        customers: ingest.customers!.object,
        rfm: rfm.rfm!.object,
        model: fit.model!.object,
        config: "churn.yaml",
      }),
    ).rejects.toThrow(/rfm\.json has 39 customers, the summary 40: they come from different runs/);
  });
});
