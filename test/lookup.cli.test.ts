/**
 * The customer lookup end to end (issue 20 item 4), through the built CLI on
 * a small `churn init` bucket with a pii column: weeks published by
 * `churn pipeline run`, answered by `churn serve --lookup-token` from the
 * newest complete week (the latest weekly upload), switching when a newer
 * week publishes, not moving back for a `--force` rerun of an older week or
 * for an older week published late; 404 for an unknown id, 401 without the
 * token, and never a pii value in an answer or in the index files.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { churnBin, spawnChurn, startChurnServe } from "./support/cli.js";
import { expectPublished } from "./support/published.js";

const TOKEN = "lookup-test-token-0123456789";
const ANSWER_KEYS = [
  "churn_probability",
  "group",
  "id",
  "model_version",
  "prob_alive",
  "published_at",
  "rank",
  "reason_codes",
  "reasons",
  "risk_tier",
  "week",
];

let dir: string;
let server: ChildProcess | null = null;
let base = "";
/** Everything any answer said, to look for pii in. */
let answered = "";

/** Weekly file contents by week, written before each run with an upload time in that order. */
const weeks: Record<string, string> = {};
const UPLOADED: Record<string, number> = {
  "2026-W47": 1_700_000_000,
  "2026-W48": 1_700_600_000,
  "2026-W49": 1_701_200_000,
};

async function upload(week: string): Promise<void> {
  const path = join(dir, "weekly", `${week}.csv`);
  await writeFile(path, weeks[week]!);
  await utimes(path, UPLOADED[week]!, UPLOADED[week]!);
}

async function runWeek(week: string, ...extra: string[]): Promise<void> {
  const run = await spawnChurn([
    "pipeline",
    "run",
    "--bucket",
    dir,
    "--weekly",
    `weekly/${week}.csv`,
    ...extra,
  ]);
  expect(run.code, `${week}: ${run.stderr.slice(-3000)}`).toBe(0);
}

/** `a,b,"c,d"` → fields (the test's own minimal CSV reading; ids and numbers are never quoted). */
function rowsOf(csv: string): Array<Record<string, string>> {
  const [header, ...lines] = csv.trimEnd().split("\n");
  const names = header!.split(",");
  return lines.map((line) => {
    const fields = line
      .match(/("([^"]|"")*"|[^,]*)(,|$)/g)!
      .map((f) => f.replace(/,$/, "").replace(/^"|"$/g, ""));
    return Object.fromEntries(names.map((n, i) => [n, fields[i] ?? ""]));
  });
}

async function lookup(
  id: string,
  token: string | null = TOKEN,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}/v1/customers/${encodeURIComponent(id)}`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
  });
  const text = await response.text();
  answered += text;
  return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
}

/** Ask until the answer names `week` (the server polls every second), up to 60 s. */
async function untilWeek(id: string, week: string) {
  for (let i = 0; i < 120; i++) {
    const answer = await lookup(id);
    if (answer.status === 200 && answer.body.week === week) return answer;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the lookup never answered ${id} from ${week}`);
}

async function latestStem(): Promise<string> {
  return JSON.parse(await readFile(join(dir, "output", "_latest.json"), "utf8")).stem;
}

async function serve(): Promise<string> {
  const started = await startChurnServe(
    ["--bucket", dir, "--port", "0", "--poll", "1", "--lookup-token", TOKEN],
    { timeoutMs: 60_000 },
  );
  server = started.child;
  return started.address;
}

/** Adds an `email` pii column to a CSV's every line. */
function withEmail(csv: string, tag: string): string {
  return csv
    .trimEnd()
    .split("\n")
    .map((line, i) => `${line},${i === 0 ? "email" : `PIIMAIL${tag}${i}@example.com`}`)
    .join("\n")
    .concat("\n");
}

let w48: Array<Record<string, string>>;
let contact: Record<string, string>;
let onlyInW48: string;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  dir = await mkdtemp(join(tmpdir(), "lookup-cli-"));
  const init = await spawnChurn(["init", "--bucket", dir, "--rows", "2000", "--weekly-rows", "400"]);
  expect(init.code, init.stderr).toBe(0);
  const yaml = join(dir, "churn.yaml");
  await writeFile(
    yaml,
    (await readFile(yaml, "utf8"))
      .replace("families: [logistic, gbdt, mlp]", "families: [logistic]")
      .replace("pii: []", "pii: [email]"),
  );
  for (const name of await readdir(join(dir, "input"))) {
    const path = join(dir, "input", name);
    await writeFile(path, withEmail(await readFile(path, "utf8"), "H"));
  }
  const example = withEmail(await readFile(join(dir, "weekly", "2026-W48.csv"), "utf8"), "W");
  await rm(join(dir, "weekly", "2026-W48.csv"));
  const lines = example.trimEnd().split("\n");
  // W47: the first 300 customers; W48: all 400; W49: all but the last 50 (uploaded last).
  weeks["2026-W47"] = `${lines.slice(0, 301).join("\n")}\n`;
  weeks["2026-W48"] = example;
  weeks["2026-W49"] = `${lines.slice(0, -50).join("\n")}\n`;
  // W48 first, then W47 (uploaded earlier, published later): the pointer stays at W48.
  await upload("2026-W48");
  await runWeek("2026-W48");
  await upload("2026-W47");
  await runWeek("2026-W47");
  w48 = rowsOf(await readFile(join(dir, "output", "2026-W48", "scores.csv"), "utf8"));
  const list = rowsOf(await readFile(join(dir, "output", "2026-W48", "contact-list.csv"), "utf8"));
  // A listed customer who is also in W49 (not among the last 50).
  const inW49 = new Set(rowsOf(weeks["2026-W49"]!).map((r) => r.CLIENTNUM));
  contact = list.find((r) => inW49.has(r.CLIENTNUM!))!;
  expect(contact, "W48's contact list names a customer of W49").toBeDefined();
  onlyInW48 = w48.find((r) => !inW49.has(r.CLIENTNUM!))!.CLIENTNUM!;
  base = await serve();
}, 900_000);

afterAll(async () => {
  server?.kill("SIGTERM");
  await rm(dir, { recursive: true, force: true });
});

describe("the customer lookup through churn serve", () => {
  it("publishes each week's index in its _SUCCESS manifest and points _latest.json at the latest upload", async () => {
    for (const week of ["2026-W47", "2026-W48"]) {
      const manifest = await expectPublished(dir, `output/${week}`);
      expect(manifest.files.map((f) => f.name)).toContain("lookup.index");
    }
    // W47 was published after W48 but uploaded before it.
    expect(await latestStem()).toBe("2026-W48");
  });

  it("answers a customer from the newest week with the published score, rank and group, and needs the token", async () => {
    expect((await lookup(contact.CLIENTNUM!, null)).status).toBe(401);
    expect((await lookup(contact.CLIENTNUM!, "not-the-token-at-all")).status).toBe(401);
    const { body } = await untilWeek(contact.CLIENTNUM!, "2026-W48");
    expect(Object.keys(body).sort()).toEqual(ANSWER_KEYS);
    const row = w48.find((r) => r.CLIENTNUM === contact.CLIENTNUM)!;
    expect(body).toMatchObject({
      id: contact.CLIENTNUM,
      week: "2026-W48",
      churn_probability: Number(row.churn_probability),
      risk_tier: row.risk_tier,
      reason_codes: row.reason_codes,
      model_version: row.model_version,
      rank: Number(contact.rank),
      group: contact.group,
      prob_alive: null,
    });
    expect(body.reasons).toEqual([row.reason_1, row.reason_2, row.reason_3].filter((r) => r !== ""));
    const unknown = await lookup("no-such-customer");
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toContain('no customer "no-such-customer" in week 2026-W48');
  });

  it("switches to a newer week when it publishes, and a --force rerun of the older week does not move it back", async () => {
    expect((await lookup(onlyInW48)).status).toBe(200);
    await upload("2026-W49");
    await runWeek("2026-W49");
    expect(await latestStem()).toBe("2026-W49");
    const { body } = await untilWeek(contact.CLIENTNUM!, "2026-W49");
    expect(body.id).toBe(contact.CLIENTNUM);
    // Not in W49: the newest complete week answers, never an older one.
    expect((await lookup(onlyInW48)).status).toBe(404);

    await runWeek("2026-W48", "--force");
    expect(await latestStem()).toBe("2026-W49");
    await new Promise((r) => setTimeout(r, 2_500)); // two polls
    expect((await lookup(contact.CLIENTNUM!)).body.week).toBe("2026-W49");
  });

  it("never shows a pii value: not in any answer, the index files or the pointer", async () => {
    expect(answered.length).toBeGreaterThan(500);
    expect(answered).not.toContain("PIIMAIL");
    expect(answered).not.toContain("email");
    for (const week of ["2026-W47", "2026-W48", "2026-W49"]) {
      const index = await readFile(join(dir, "output", week, "lookup.index"), "latin1");
      expect(index).not.toContain("PIIMAIL");
      expect(index).not.toContain("email");
    }
    expect(await readFile(join(dir, "output", "_latest.json"), "utf8")).not.toContain("PIIMAIL");
  });
});
