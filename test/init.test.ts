import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../cli/main.js";
import { parseConfigText } from "../components/common/config/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { datasetPath, describeDatasets } from "./support/datasets.js";
import { type GcsEmulator, startGcsEmulator } from "./support/gcs-emulator.js";

// `churn init` through the real CLI entry (main() in-process, the same code
// path as the bin), checked against the real BankChurners file it imitates.

const REAL = datasetPath("bankchurners", "BankChurners.csv");

async function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const code = await main(args, { stdout, stderr, env: {}, cwd });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

/** Minimal CSV reader for these files: quoted fields never contain commas or quotes. */
function readCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.replace(/\r/g, "").trimEnd().split("\n");
  const cells = (line: string) => line.split(",").map((c) => c.replace(/^"(.*)"$/, "$1"));
  return { header: cells(lines[0]!), rows: lines.slice(1).map(cells) };
}

/** ROC-AUC of a score against 0/1 labels (Mann-Whitney, ties counted half). */
function rocAuc(scores: number[], labels: boolean[]): number {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSum = 0;
  let positives = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!]) {
        rankSum += midRank;
        positives++;
      }
    }
    i = j + 1;
  }
  const negatives = scores.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-init-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("churn init", () => {
  let first: { code: number; stdout: string; stderr: string };
  let history: { header: string[]; rows: string[][] };
  let weekly: { header: string[]; rows: string[][] };

  beforeAll(async () => {
    first = await run(["init", "--bucket", "bucket"], dir);
    history = readCsv(await readFile(join(dir, "bucket/input/history.csv"), "utf8"));
    weekly = readCsv(await readFile(join(dir, "bucket/weekly/2026-W48.csv"), "utf8"));
  });

  it("writes churn.yaml, 20,000 labelled and 5,000 weekly rows and says what to run next", async () => {
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(history.rows).toHaveLength(20_000);
    expect(weekly.rows).toHaveLength(5_000);
    expect(first.stdout).toMatch(
      /input\/history\.csv\s+20,000 labelled customers, [\d,]+ churned \(\d+\.\d%\)/,
    );
    expect(first.stdout).toMatch(/weekly\/2026-W48\.csv\s+5,000 customers to score/);
    expect(first.stdout).toContain("churn pipeline run --bucket bucket\n");
    expect(first.stdout).toContain(
      "churn pipeline run lifetime --bucket bucket --transactions transactions/2026-11.csv",
    );
    expect(first.stdout).not.toContain("churn component");
    const config = parseConfigText(await readFile(join(dir, "bucket/churn.yaml"), "utf8"));
    expect(config.id_column).toBe("CLIENTNUM");
    expect(config.label).toEqual({ column: "Attrition_Flag", positive: "Attrited Customer" });
  });

  it("writes a purchase log the lifetime pipeline runs on with the printed command", async () => {
    const command = first.stdout
      .split("\n")
      .find((l) => l.includes("pipeline run lifetime"))!
      .trim();
    const lifetime = await run(command.split(" ").slice(1), dir);
    expect(lifetime.code, lifetime.stderr).toBe(0);
    const customers = readCsv(
      await readFile(join(dir, "bucket/output/lifetime/2026-11/customers.csv"), "utf8"),
    );
    expect(customers.rows).toHaveLength(2_000);
    // Some customers went silent for good, others keep buying: the fit tells them apart.
    const alive = customers.rows.map((r) => Number(r[customers.header.indexOf("prob_alive")]));
    expect(Math.min(...alive)).toBeLessThan(0.3);
    expect(alive.filter((p) => p > 0.7).length).toBeGreaterThan(200);
  });

  it("gives every customer a distinct id across both files", () => {
    const ids = [...history.rows, ...weekly.rows].map((r) => r[0]);
    expect(new Set(ids).size).toBe(25_000);
  });

  it("has a learnable, non-linear signal and a realistic churn rate", () => {
    const label = history.header.indexOf("Attrition_Flag");
    const count = history.header.indexOf("Total_Trans_Ct");
    const churned = history.rows.map((r) => r[label] === "Attrited Customer");
    const rate = churned.filter(Boolean).length / churned.length;
    expect(rate).toBeGreaterThan(0.12);
    expect(rate).toBeLessThan(0.2);
    // Fewer transactions, more churn: informative alone, far from the whole story
    // (sklearn's gradient boosting reaches ~0.91 on all columns, see the report).
    const auc = rocAuc(
      history.rows.map((r) => -Number(r[count])),
      churned,
    );
    expect(auc).toBeGreaterThan(0.6);
    expect(auc).toBeLessThan(0.85);
    // Non-monotone: the quietest customers churn less than the merely quiet ones,
    // which no single linear term in Total_Trans_Ct can express.
    const rateWhere = (test: (ct: number) => boolean) => {
      const group = history.rows
        .map((r, i) => [Number(r[count]), churned[i]] as const)
        .filter(([ct]) => test(ct));
      return group.filter(([, c]) => c).length / group.length;
    };
    expect(rateWhere((ct) => ct < 28)).toBeLessThan(rateWhere((ct) => ct >= 28 && ct < 55) - 0.1);
    expect(rateWhere((ct) => ct >= 70)).toBeLessThan(0.08);
  });

  describeDatasets("the real BankChurners file", ["bankchurners/BankChurners.csv"], () => {
    it("matches the real file's header and category values", async () => {
      const real = readCsv(await readFile(REAL, "utf8"));
      expect(history.header).toEqual(real.header.filter((c) => !c.startsWith("Naive_Bayes")));
      expect(weekly.header).toEqual(history.header.filter((c) => c !== "Attrition_Flag"));
      for (const column of [
        "Attrition_Flag",
        "Gender",
        "Education_Level",
        "Marital_Status",
        "Income_Category",
        "Card_Category",
      ]) {
        const realValues = new Set(real.rows.map((r) => r[real.header.indexOf(column)]));
        const ours = new Set(history.rows.map((r) => r[history.header.indexOf(column)]));
        expect(
          [...ours].filter((v) => !realValues.has(v)),
          column,
        ).toEqual([]);
        expect(ours.size, column).toBe(realValues.size);
      }
      // Numbers stay inside the real ranges.
      for (const column of ["Customer_Age", "Credit_Limit", "Total_Trans_Amt", "Total_Trans_Ct"]) {
        const values = (csv: typeof real) => csv.rows.map((r) => Number(r[csv.header.indexOf(column)]));
        const realValues = values(real);
        const ours = values(history);
        expect(Math.min(...ours), column).toBeGreaterThanOrEqual(Math.min(...realValues));
        expect(Math.max(...ours), column).toBeLessThanOrEqual(Math.max(...realValues));
      }
    });
  });

  it("refuses to overwrite without --force (exit 2, one sentence), then rewrites identical bytes with it", async () => {
    const before = await readFile(join(dir, "bucket/input/history.csv"));
    const again = await run(["init", "--bucket", "bucket"], dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^churn: .*churn\.yaml.* already exist: pass --force/);
    expect(again.stderr).not.toMatch(/\n\s+at /);
    const forced = await run(["init", "--bucket", "bucket", "--force", "--json"], dir);
    expect(forced.code).toBe(0);
    const doc = JSON.parse(forced.stdout) as { ok: boolean; churn_rate: number; objects: { name: string }[] };
    expect(doc.churn_rate).toBeGreaterThan(0);
    expect(doc.ok).toBe(true);
    expect(doc.objects.map((o) => o.name)).toEqual([
      "churn.yaml",
      "input/history.csv",
      "transactions/2026-11.csv",
      "weekly/2026-W48.csv",
    ]);
    expect((await readFile(join(dir, "bucket/input/history.csv"))).equals(before)).toBe(true);
  });

  it("changes with the seed and validates its flags", async () => {
    const other = await run(
      ["init", "--bucket", "seeded", "--seed", "7", "--rows", "1_000", "--weekly-rows", "10"],
      dir,
    );
    expect(other.code).toBe(0);
    const text = await readFile(join(dir, "seeded/input/history.csv"), "utf8");
    expect(text.split("\n")[1]).not.toBe(
      (await readFile(join(dir, "bucket/input/history.csv"), "utf8")).split("\n")[1],
    );
    const bad = await run(["init", "--bucket", "bad", "--rows", "ten"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rows must be a whole number, got "ten"');
    const help = await run(["init", "--help"], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("churn init --bucket ./demo-bucket");
  });
});

describe("churn init on gs:// (fake-gcs-server)", () => {
  let emulator: GcsEmulator;
  beforeAll(async () => {
    emulator = await startGcsEmulator({ bucket: "churn-init" });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it("writes the same bytes as on a local folder, untagged, through the streaming write", async () => {
    const args = ["--rows", "3000", "--weekly-rows", "200", "--seed", "5"];
    const cloud = await run(["init", "--bucket", `gs://${emulator.bucket}/demo`, ...args], dir);
    expect(cloud.stderr).toBe("");
    expect(cloud.code).toBe(0);
    expect((await run(["init", "--bucket", "local-twin", ...args], dir)).code).toBe(0);
    const storage = await openStorage(`gs://${emulator.bucket}/demo`);
    for (const name of ["churn.yaml", "input/history.csv", "weekly/2026-W48.csv"]) {
      const local = await readFile(join(dir, "local-twin", name));
      expect((await storage.readBytes(name)).equals(local), name).toBe(true);
      expect((await storage.stat(name))?.metadata["churn-writer"], name).toBeUndefined();
    }
    const again = await run(["init", "--bucket", `gs://${emulator.bucket}/demo`, ...args], dir);
    expect(again.code).toBe(2);
  });
});
