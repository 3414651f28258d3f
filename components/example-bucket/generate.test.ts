import { describe, expect, it } from "vitest";
import { EXAMPLE_COLUMNS, exampleId, exampleRows, WEEKLY_COLUMNS } from "./generate.js";
import { createRng } from "./rng.js";

// Copied from ../shared/datasets/bankchurners/BankChurners.csv (header, value
// sets and ranges), so this unit test runs without the data set; the
// integration test test/init.test.ts compares against the real file itself.
const BANKCHURNERS_HEADER =
  "CLIENTNUM,Attrition_Flag,Customer_Age,Gender,Dependent_count,Education_Level,Marital_Status,Income_Category,Card_Category,Months_on_book,Total_Relationship_Count,Months_Inactive_12_mon,Contacts_Count_12_mon,Credit_Limit,Total_Revolving_Bal,Avg_Open_To_Buy,Total_Amt_Chng_Q4_Q1,Total_Trans_Amt,Total_Trans_Ct,Total_Ct_Chng_Q4_Q1,Avg_Utilization_Ratio,Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_Education_Level_Months_Inactive_12_mon_1,Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_Education_Level_Months_Inactive_12_mon_2".split(
    ",",
  );
const REAL_VALUES: Record<string, string[]> = {
  Attrition_Flag: ["Existing Customer", "Attrited Customer"],
  Gender: ["F", "M"],
  Education_Level: [
    "Graduate",
    "High School",
    "Unknown",
    "Uneducated",
    "College",
    "Post-Graduate",
    "Doctorate",
  ],
  Marital_Status: ["Married", "Single", "Unknown", "Divorced"],
  Income_Category: ["Less than $40K", "$40K - $60K", "$80K - $120K", "$60K - $80K", "Unknown", "$120K +"],
  Card_Category: ["Blue", "Silver", "Gold", "Platinum"],
};
const REAL_RANGES: Record<string, [number, number]> = {
  Customer_Age: [26, 73],
  Dependent_count: [0, 5],
  Months_on_book: [13, 56],
  Total_Relationship_Count: [1, 6],
  Months_Inactive_12_mon: [0, 6],
  Contacts_Count_12_mon: [0, 6],
  Credit_Limit: [1438.3, 34516],
  Total_Revolving_Bal: [0, 2517],
  Avg_Open_To_Buy: [0, 34516],
  Total_Amt_Chng_Q4_Q1: [0, 3.397],
  Total_Trans_Amt: [510, 18484],
  Total_Trans_Ct: [10, 139],
  Total_Ct_Chng_Q4_Q1: [0, 3.714],
  Avg_Utilization_Ratio: [0, 0.999],
};

async function text(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Parse the generator's own simple CSV (no commas inside values) into records. */
function parse(csv: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = csv.trimEnd().split("\n");
  const header = lines[0]!.split(",");
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(",");
    expect(cells).toHaveLength(header.length);
    return Object.fromEntries(header.map((h, i) => [h, cells[i]!.replace(/^"(.*)"$/, "$1")]));
  });
  return { header, rows };
}

describe("exampleRows", () => {
  it("is deterministic: the same seed gives the same bytes, another seed different ones", async () => {
    const a = await text(exampleRows({ rows: 2000, seed: 42, labelled: true }));
    const b = await text(exampleRows({ rows: 2000, seed: 42, labelled: true }));
    const c = await text(exampleRows({ rows: 2000, seed: 43, labelled: true }));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(c.split("\n")[0]).toBe(a.split("\n")[0]);
  });

  it("does not depend on the chunk size", async () => {
    const big = await text(exampleRows({ rows: 1234, seed: 5, labelled: false }));
    const small = await text(exampleRows({ rows: 1234, seed: 5, labelled: false, chunkRows: 7 }));
    expect(small).toBe(big);
  });

  it("emits chunks, not one string, and reports progress up to the total", async () => {
    const progress: number[] = [];
    let chunks = 0;
    for await (const _ of exampleRows({
      rows: 12_000,
      seed: 1,
      labelled: true,
      onProgress: (n) => progress.push(n),
    }))
      chunks++;
    expect(chunks).toBeGreaterThan(2);
    expect(progress.at(-1)).toBe(12_000);
    expect([...progress].sort((x, y) => x - y)).toEqual(progress);
  });

  it("has the BankChurners header without the two leaking Naive_Bayes columns", async () => {
    const labelled = parse(await text(exampleRows({ rows: 10, seed: 1, labelled: true })));
    expect(labelled.header).toEqual(BANKCHURNERS_HEADER.filter((c) => !c.startsWith("Naive_Bayes")));
    expect([...EXAMPLE_COLUMNS]).toEqual(labelled.header);
    const weekly = parse(await text(exampleRows({ rows: 10, seed: 1, labelled: false })));
    expect(weekly.header).toEqual(labelled.header.filter((c) => c !== "Attrition_Flag"));
    expect(WEEKLY_COLUMNS).toEqual(weekly.header);
    expect(weekly.rows).toHaveLength(10);
  });

  it("looks like the real data: value sets, ranges, Unknown rates, churn rate, derived columns", async () => {
    const { rows } = parse(await text(exampleRows({ rows: 10_000, seed: 2026, labelled: true })));
    for (const [column, values] of Object.entries(REAL_VALUES)) {
      const seen = new Set(rows.map((r) => r[column]!));
      expect(
        [...seen].filter((v) => !values.includes(v)),
        column,
      ).toEqual([]);
      // Every real value shows up in 10,000 rows (Platinum is the rarest, ~0.2%).
      expect(seen.size, column).toBe(values.length);
    }
    for (const [column, [lo, hi]] of Object.entries(REAL_RANGES)) {
      const numbers = rows.map((r) => Number(r[column]));
      expect(
        numbers.every((x) => Number.isFinite(x) && x >= lo && x <= hi),
        column,
      ).toBe(true);
    }
    const share = (column: string, value: string) =>
      rows.filter((r) => r[column] === value).length / rows.length;
    // Real rates: 15.0%, 7.4%, 11.0%.
    expect(share("Education_Level", "Unknown")).toBeGreaterThan(0.12);
    expect(share("Education_Level", "Unknown")).toBeLessThan(0.18);
    expect(share("Marital_Status", "Unknown")).toBeGreaterThan(0.05);
    expect(share("Marital_Status", "Unknown")).toBeLessThan(0.1);
    expect(share("Income_Category", "Unknown")).toBeGreaterThan(0.08);
    expect(share("Income_Category", "Unknown")).toBeLessThan(0.14);
    const churn = share("Attrition_Flag", "Attrited Customer");
    expect(churn).toBeGreaterThan(0.12);
    expect(churn).toBeLessThan(0.2);
    for (const r of rows) {
      const limit = Number(r.Credit_Limit);
      const balance = Number(r.Total_Revolving_Bal);
      expect(Number(r.Avg_Open_To_Buy)).toBeCloseTo(limit - balance, 6);
      expect(
        Math.abs(Number(r.Avg_Utilization_Ratio) - Math.min(0.999, balance / limit)),
      ).toBeLessThanOrEqual(0.0006);
    }
  });

  it("plants a signal: churners transact less, as in the real file", async () => {
    const { rows } = parse(await text(exampleRows({ rows: 5000, seed: 9, labelled: true })));
    const mean = (churned: boolean) => {
      const group = rows.filter((r) => (r.Attrition_Flag === "Attrited Customer") === churned);
      return group.reduce((sum, r) => sum + Number(r.Total_Trans_Ct), 0) / group.length;
    };
    // Real file: 44.9 for churners, 68.7 for the others.
    expect(mean(false) - mean(true)).toBeGreaterThan(10);
  });

  it("gives distinct 9-digit ids across files with disjoint index ranges", async () => {
    const history = parse(await text(exampleRows({ rows: 3000, seed: 3, labelled: true })));
    const weekly = parse(await text(exampleRows({ rows: 1000, seed: 3, labelled: false, firstIndex: 3000 })));
    const ids = [...history.rows, ...weekly.rows].map((r) => r.CLIENTNUM!);
    expect(new Set(ids).size).toBe(4000);
    expect(ids.every((id) => /^[7-8]\d{8}$/.test(id))).toBe(true);
    // Different customers, not the history's rows with new ids.
    expect(weekly.rows[0]!.Customer_Age + weekly.rows[0]!.Credit_Limit).not.toBe(
      history.rows[0]!.Customer_Age + history.rows[0]!.Credit_Limit,
    );
  });

  it("rejects impossible row counts", async () => {
    await expect(text(exampleRows({ rows: -1, seed: 1, labelled: true }))).rejects.toThrow(/rows/);
    await expect(
      text(exampleRows({ rows: 10, seed: 1, labelled: true, firstIndex: 2 ** 27 - 5 })),
    ).rejects.toThrow(/exceed/);
  });
});

describe("exampleId", () => {
  it("is a permutation: 200,000 consecutive indexes give 200,000 distinct ids", () => {
    const ids = new Set<number>();
    for (let i = 0; i < 200_000; i++) ids.add(exampleId(i, 42));
    expect(ids.size).toBe(200_000);
  });
});

describe("createRng", () => {
  it("repeats for the same keys and differs for others, with sane moments", () => {
    const a = createRng(1, 2);
    const b = createRng(1, 2);
    const c = createRng(1, 3);
    const xs = Array.from({ length: 20_000 }, () => a.next());
    expect(Array.from({ length: 20_000 }, () => b.next())).toEqual(xs);
    expect(c.next()).not.toBe(xs[0]);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    const normals = Array.from({ length: 20_000 }, () => a.normal());
    const m = normals.reduce((s, x) => s + x, 0) / normals.length;
    const sd = Math.sqrt(normals.reduce((s, x) => s + (x - m) ** 2, 0) / normals.length);
    expect(Math.abs(m)).toBeLessThan(0.03);
    expect(Math.abs(sd - 1)).toBeLessThan(0.03);
  });

  it("uses seeds above 2^32", () => {
    expect(createRng(2 ** 40).next()).not.toBe(createRng(0).next());
  });
});
