import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planAndRunStep } from "../common/component/run.js";
import { CsvParser } from "../common/csv/parse.js";
import { campaignDocumentSchema } from "../common/documents/campaign.js";
import { parseDocument } from "../common/documents/parse.js";
import { arrowChunks } from "../common/schema/testdata.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import { openStorage } from "../common/storage/index.js";
import type { Storage } from "../common/storage/types.js";
import {
  type CampaignSettings,
  type Candidate,
  candidateCapacity,
  controlDraw,
  selectContacts,
  TopCandidates,
} from "./rank.js";
import { contactListComponent } from "./spec.js";

const base: CampaignSettings = {
  eligibleTiers: ["high"],
  valueColumn: null,
  listWithoutValue: false,
  budgetContacts: null,
  costPerContact: 0,
  saveRate: 1,
  controlShare: 0,
};

const candidate = (seq: number, expected: number): Candidate<null> => ({
  probability: expected,
  value: null,
  expected,
  seq,
  id: `c${seq}`,
  row: null,
});

describe("TopCandidates", () => {
  it("keeps the best k in a bounded heap, best first, ties in input order", () => {
    const top = new TopCandidates<null>(3);
    for (const [i, e] of [0.2, 0.9, 0.5, 0.9, 0.1, 0.7].entries()) top.offer(candidate(i, e));
    expect(top.ranked().map((c) => c.seq)).toEqual([1, 3, 5]);
    expect(top.offered).toBe(6);
    const all = new TopCandidates<null>(null);
    for (const [i, e] of [0.2, 0.9, 0.5].entries()) all.offer(candidate(i, e));
    expect(all.ranked().map((c) => c.expected)).toEqual([0.9, 0.5, 0.2]);
  });
});

describe("selectContacts", () => {
  it("stops at exactly the budget of contacts; controls interleave from the same ranking", () => {
    const settings = { ...base, budgetContacts: 100, controlShare: 0.2 };
    const capacity = candidateCapacity(settings)!;
    expect(capacity).toBeGreaterThanOrEqual(125);
    const ranked = Array.from({ length: capacity }, (_, i) => candidate(i, 1 - i / 1000));
    const listed = selectContacts(ranked, settings, "2026-W48");
    expect(listed.filter((r) => r.group === "contact")).toHaveLength(100);
    expect(listed.at(-1)!.group).toBe("contact");
    expect(listed.map((r) => r.rank)).toEqual(listed.map((_, i) => i + 1));
    // The same week splits the same way; another week draws afresh.
    expect(selectContacts(ranked, settings, "2026-W48")).toEqual(listed);
    expect(selectContacts(ranked, settings, "2026-W49").map((r) => r.group)).not.toEqual(
      listed.map((r) => r.group),
    );
  });

  it("draws uniformly: control share within 2 points on 5,000 ids", () => {
    const draws = Array.from({ length: 5000 }, (_, i) => controlDraw(String(700_000_000 + i), "2026-W48"));
    for (const share of [0.1, 0.25, 0.5])
      expect(Math.abs(draws.filter((d) => d < share).length / 5000 - share)).toBeLessThan(0.02);
  });
});

// A scored week of 5,000 customers: scores.csv as the score step writes it, and ingest's rows.
const N = 5000;
const schema: DatasetSchema = {
  version: 1,
  columns: [
    { name: "id", type: "categorical", role: "id", missingTokens: [] },
    { name: "balance", type: "numeric", role: "feature", missingTokens: [] },
    { name: "segment", type: "categorical", role: "passthrough", missingTokens: [] },
    { name: "email", type: "categorical", role: "pii", missingTokens: [] },
  ],
  idColumn: "id",
  generatedId: false,
  source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
};
const ids = Array.from({ length: N }, (_, i) => `${100_000 + ((i * 7919) % N)}`);
const probability = (i: number) => ((i * 37) % 1000) / 1000;
const balance = (i: number) => (i % 50 === 0 ? Number.NaN : 100 + ((i * 53) % 900));
const tierOf = (p: number) => (p >= 0.8 ? "high" : p >= 0.5 ? "medium" : "low");
const segment = (i: number) => (i % 3 === 0 ? "=HYPERLINK(1)" : i % 3 === 1 ? "north, east" : "-5");

function scoresCsv(): string {
  let text = "id,churn_probability,risk_tier,reason_1,reason_2,reason_codes,model_version,segment\n";
  for (let i = 0; i < N; i++) {
    const p = probability(i);
    const reasons = tierOf(p) === "low" ? ",," : "Balance: 9 (typical 5),,balance:+0.50";
    // The score step wrote passthrough texts through the guard already (formula_guard on).
    const seg = segment(i) === "=HYPERLINK(1)" ? "'=HYPERLINK(1)" : segment(i);
    text += `${ids[i]},${p.toFixed(6)},${tierOf(p)},${reasons},v1,"${seg}"\n`;
  }
  return text;
}

let dir: string;
let storage: Storage;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "contact-list-"));
  storage = await openStorage(dir);
  await storage.write("runs/r-1/scores.csv", scoresCsv());
  const batch: RowBatch = {
    numRows: N,
    lines: Uint32Array.from({ length: N }, (_, i) => i + 2),
    ids,
    columns: {
      balance: Float64Array.from({ length: N }, (_, i) => balance(i)),
      segment: Array.from({ length: N }, (_, i) => segment(i)),
    },
  };
  await storage.write("runs/r-1/rows.arrow", Buffer.concat(await arrowChunks(schema, [batch])));
}, 30_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the step with a campaign section; returns contact-list.csv's records and campaign.json. */
async function contactList(campaign: Record<string, unknown>, step: string) {
  const yaml = `id_column: id\npii: [email]\npassthrough: [segment]\ncampaign: ${JSON.stringify(campaign)}\n`;
  await storage.write(`runs/r-1/${step}.yaml`, yaml);
  const output = await planAndRunStep(
    storage,
    "r-1",
    step,
    contactListComponent,
    { scores: ["runs/r-1/scores.csv"], rows: ["runs/r-1/rows.arrow"], config: [`runs/r-1/${step}.yaml`] },
    { trigger: "weekly/2026-W48.csv" },
  );
  const text = await storage.readText(output.outputs.contact_list!.object);
  const records: string[][] = [];
  const parser = new CsvParser(
    { delimiter: ",", source: "contact-list.csv" },
    (fields) => {
      records.push([...fields]);
    },
    () => {
      throw new Error("malformed contact-list.csv");
    },
  );
  parser.push(text);
  parser.end();
  const totals = parseDocument(
    campaignDocumentSchema,
    await storage.readText(output.outputs.campaign!.object),
    "campaign.json",
  );
  const [header, ...rows] = records;
  return { header: header!, rows, totals, text };
}

const col = (header: string[], name: string) => header.indexOf(name);

describe("the contact-list step", () => {
  it("ranks eligible customers by probability without a value column; no budget lists them all", async () => {
    const { header, rows, totals } = await contactList({ control_share: 0 }, "by-probability");
    expect(header).toEqual([
      "rank",
      "id",
      "group",
      "risk_tier",
      "churn_probability",
      "value",
      "expected_retained_value",
      "reason_1",
      "reason_2",
      "reason_codes",
      "segment",
    ]);
    const highs = Array.from({ length: N }, (_, i) => probability(i)).filter((p) => p >= 0.8).length;
    expect(rows).toHaveLength(highs);
    expect(totals).toMatchObject({ eligible: highs, listed: highs, contacts: highs, control: 0 });
    expect(rows.every((r) => r[col(header, "risk_tier")] === "high")).toBe(true);
    const p = rows.map((r) => Number(r[col(header, "churn_probability")]));
    expect(p).toEqual([...p].sort((a, b) => b - a));
    expect(rows.map((r) => Number(r[0]))).toEqual(rows.map((_, i) => i + 1));
    expect(totals.expected_value_retained).toBeNull();
  });

  it("with a value column and a budget: ranks by p * value * save_rate - cost, never over the budget", async () => {
    const { header, rows, totals } = await contactList(
      {
        value_column: "balance",
        budget_contacts: 300,
        cost_per_contact: 20,
        save_rate: 0.5,
        control_share: 0.1,
      },
      "by-value",
    );
    const contacts = rows.filter((r) => r[col(header, "group")] === "contact");
    expect(contacts).toHaveLength(300);
    expect(totals.contacts).toBe(300);
    const byId = new Map(ids.map((id, i) => [id, i]));
    const expected = rows.map((r) => {
      const i = byId.get(r[1]!)!;
      return probability(i) * balance(i) * 0.5 - 20;
    });
    rows.forEach((r, k) => {
      expect(Number(r[col(header, "expected_retained_value")])).toBeCloseTo(expected[k]!, 2);
      expect(Number(r[col(header, "value")])).toBe(balance(byId.get(r[1]!)!));
    });
    expect(expected).toEqual([...expected].sort((a, b) => b - a));
    // Nobody better was left out: every unlisted high-tier customer is worth less than the last listed.
    const listed = new Set(rows.map((r) => r[1]));
    const last = expected.at(-1)!;
    for (let i = 0; i < N; i++)
      if (!listed.has(ids[i]) && tierOf(probability(i)) === "high" && !Number.isNaN(balance(i)))
        expect(probability(i) * balance(i) * 0.5 - 20).toBeLessThanOrEqual(last);
    const control = rows.filter((r) => r[col(header, "group")] === "control").length;
    expect(totals.control).toBe(control);
    expect(Math.abs(control / rows.length - 0.1)).toBeLessThan(0.05);
    expect(totals.expected_churners_reached).toBeCloseTo(
      contacts.reduce((s, r) => s + Number(r[col(header, "churn_probability")]), 0),
      1,
    );
  });

  it("the cost form lists only customers worth more than a contact costs", async () => {
    const { header, rows } = await contactList(
      { value_column: "balance", cost_per_contact: 250, save_rate: 0.5, control_share: 0 },
      "cost-form",
    );
    expect(rows.length).toBeGreaterThan(0);
    const byId = new Map(ids.map((id, i) => [id, i]));
    let worth = 0;
    for (let i = 0; i < N; i++)
      if (tierOf(probability(i)) === "high" && probability(i) * balance(i) * 0.5 > 250) worth++;
    expect(rows).toHaveLength(worth);
    for (const r of rows) expect(Number(r[col(header, "expected_retained_value")])).toBeGreaterThan(0);
    for (const r of rows) expect(byId.has(r[1]!)).toBe(true);
  });

  it("holds back control_share of the list (within 2 points on 5,000 rows), stable on re-runs", async () => {
    const campaign = { eligible_tiers: ["high", "medium", "low"], control_share: 0.2 };
    const first = await contactList(campaign, "control-a");
    expect(first.rows).toHaveLength(N);
    const control = first.rows.filter((r) => r[col(first.header, "group")] === "control").length;
    expect(Math.abs(control / N - 0.2)).toBeLessThan(0.02);
    expect((await contactList(campaign, "control-b")).text).toBe(first.text);
  });

  it("never holds pii, guards text values and leaves ids and numbers alone", async () => {
    const { header, rows, text } = await contactList(
      { eligible_tiers: ["high", "medium", "low"], value_column: "balance", control_share: 0 },
      "pii",
    );
    expect(header).not.toContain("email");
    const segments = new Set(rows.map((r) => r[col(header, "segment")]));
    expect(segments).toEqual(new Set(["'=HYPERLINK(1)", "north, east", "-5"]));
    expect(text).not.toContain("''=");
    expect(rows.every((r) => /^\d+$/.test(r[1]!))).toBe(true);
  });

  it("refuses a value column that is not numeric, naming it", async () => {
    await expect(contactList({ value_column: "segment" }, "bad-value")).rejects.toThrow(
      /campaign.value_column "segment" is a categorical column/,
    );
  });
});

describe("ranking with values some customers lack (campaign.value_column: lifetime)", () => {
  const valued = (seq: number, expected: number): Candidate<null> => ({
    ...candidate(seq, expected),
    value: 1,
  });
  it("ranks every customer with a value before those without, even under a budget", () => {
    const top = new TopCandidates<null>(3);
    // Without a value, "expected" is the probability: 0.99 must still come after a value of 0.01.
    for (const c of [candidate(0, 0.99), valued(1, 0.01), candidate(2, 0.5), valued(3, 5), valued(4, -1)])
      top.offer(c);
    expect(top.ranked().map((c) => c.seq)).toEqual([3, 1, 4]);
    const all = new TopCandidates<null>(null);
    for (const c of [candidate(0, 0.99), valued(1, 0.01), candidate(2, 0.5), valued(3, 5)]) all.offer(c);
    expect(all.ranked().map((c) => c.seq)).toEqual([3, 1, 0, 2]);
  });
});

// The lifetime output's customers.csv: a value for every third customer of the week, none for
// every seventh of those (no spend model for them), and customers the week does not have.
const lifetimeValue = (i: number) => 10 + ((i * 97) % 5000) / 10;
const hasLifetime = (i: number) => i % 3 === 0;
function customersCsv(): string {
  let text = "customer_id,frequency,prob_alive,lifetime_value\n";
  for (let i = 0; i < N; i++)
    if (hasLifetime(i)) text += `${ids[i]},2,0.8,${i % 7 === 0 ? "" : lifetimeValue(i).toFixed(4)}\n`;
  for (let i = 0; i < 50; i++) text += `X${i},1,0.5,99\n`;
  return text;
}
const withLifetime = (i: number) => hasLifetime(i) && i % 7 !== 0;

describe("the contact-list step with campaign.value_column: lifetime", () => {
  const run = async (step: string, campaign: Record<string, unknown>, lifetime: string | null) => {
    const yaml = `id_column: id\npii: [email]\npassthrough: [segment]\ncampaign: ${JSON.stringify(campaign)}\n`;
    await storage.write(`runs/r-1/${step}.yaml`, yaml);
    const inputs: Record<string, string[]> = {
      scores: ["runs/r-1/scores.csv"],
      rows: ["runs/r-1/rows.arrow"],
      config: [`runs/r-1/${step}.yaml`],
    };
    if (lifetime !== null) {
      await storage.write(`output/lifetime/${step}/customers.csv`, lifetime);
      inputs.lifetime = [`output/lifetime/${step}/customers.csv`];
    }
    return planAndRunStep(storage, "r-1", step, contactListComponent, inputs, {
      trigger: "weekly/2026-W48.csv",
    });
  };
  const records = async (object: string) => {
    const out: string[][] = [];
    const parser = new CsvParser(
      { delimiter: ",", source: object },
      (fields) => {
        out.push([...fields]);
      },
      () => {
        throw new Error("malformed");
      },
    );
    parser.push(await storage.readText(object));
    parser.end();
    return out;
  };

  it("ranks by p * lifetime value * save_rate - cost, then the customers without one, counted and warned", async () => {
    const campaign = { value_column: "lifetime", cost_per_contact: 1, save_rate: 0.5, control_share: 0 };
    const output = await run("lifetime-a", campaign, customersCsv());
    const [header, ...rows] = await records(output.outputs.contact_list!.object);
    const byId = new Map(ids.map((id, i) => [id, i]));
    const high = Array.from({ length: N }, (_, i) => i).filter((i) => tierOf(probability(i)) === "high");
    const worth = high.filter((i) => withLifetime(i) && probability(i) * lifetimeValue(i) * 0.5 - 1 > 0);
    const without = high.filter((i) => !withLifetime(i));
    expect(rows).toHaveLength(worth.length + without.length);
    const head = rows.slice(0, worth.length);
    const tail = rows.slice(worth.length);
    const expected = head.map((r) => Number(r[col(header!, "expected_retained_value")]));
    expect(expected).toEqual([...expected].sort((a, b) => b - a));
    head.forEach((r, k) => {
      const i = byId.get(r[1]!)!;
      expect(withLifetime(i)).toBe(true);
      expect(Number(r[col(header!, "value")])).toBeCloseTo(lifetimeValue(i), 4);
      expect(expected[k]).toBeCloseTo(probability(i) * lifetimeValue(i) * 0.5 - 1, 1);
    });
    // The customers without a value: after every one with a value, by probability, with no money shown.
    expect(new Set(tail.map((r) => byId.get(r[1]!)!))).toEqual(new Set(without));
    const p = tail.map((r) => Number(r[col(header!, "churn_probability")]));
    expect(p).toEqual([...p].sort((a, b) => b - a));
    for (const r of tail) {
      expect(r[col(header!, "value")]).toBe("");
      expect(r[col(header!, "expected_retained_value")]).toBe("");
    }
    const totals = parseDocument(
      campaignDocumentSchema,
      await storage.readText(output.outputs.campaign!.object),
      "campaign.json",
    );
    expect(totals).toMatchObject({
      value_column: "lifetime",
      eligible: worth.length + without.length,
      without_value: without.length,
    });
    const retained = worth.reduce((s, i) => s + probability(i) * lifetimeValue(i) * 0.5 - 1, 0);
    expect(totals.expected_value_retained).toBeCloseTo(retained, 0);
    expect(output.warnings).toEqual([
      {
        code: "no-lifetime-value",
        column: "lifetime_value",
        message: `${without.length} of ${worth.length + without.length} eligible customers have no lifetime_value in output/lifetime/lifetime-a/customers.csv: they are ranked after those with one`,
      },
    ]);
  });

  it("warns of nothing when every eligible customer has a value; other value settings count nothing", async () => {
    let all = "customer_id,lifetime_value\n";
    for (const id of ids) all += `${id},500\n`;
    const output = await run("lifetime-all", { value_column: "lifetime", control_share: 0 }, all);
    expect(output.warnings).toEqual([]);
    const totals = JSON.parse(await storage.readText(output.outputs.campaign!.object));
    expect(totals.without_value).toBe(0);
    const weekly = await run("weekly-column", { value_column: "balance", control_share: 0 }, null);
    expect(JSON.parse(await storage.readText(weekly.outputs.campaign!.object)).without_value).toBeNull();
  });

  it("without the lifetime input fails naming the command to run; a bad value names file, line and column", async () => {
    await expect(run("lifetime-none", { value_column: "lifetime" }, null)).rejects.toThrow(
      /campaign.value_column is lifetime, but .* has no complete lifetime output under output\/lifetime\/: run `churn pipeline run lifetime --bucket /,
    );
    await expect(
      run(
        "lifetime-bad",
        { value_column: "lifetime" },
        `customer_id,lifetime_value\n${ids[0]},12\n${ids[1]},lots\n`,
      ),
    ).rejects.toThrow(
      'output/lifetime/lifetime-bad/customers.csv line 3, column "lifetime_value": "lots" is not a number',
    );
    await expect(
      run("lifetime-old", { value_column: "lifetime" }, "customer_id,prob_alive\nc1,0.5\n"),
    ).rejects.toThrow(/customers.csv: the header has no column "lifetime_value"/);
  });
});
