/**
 * A verifiable publish, through the built CLI on a small example bucket:
 * `_SUCCESS` is the manifest of exactly the files of output/<stem>/ (run id,
 * sizes, sha256 of the bytes, generations), `churn pull` copies the set
 * byte for byte and, while a publish is half way (files replaced and the
 * manifest not yet, or no manifest at all), says "in progress" and never
 * writes a mix into its folder. The formula guard: a passthrough value
 * `=HYPERLINK("x")` reaches scores.csv as `'=HYPERLINK("x")` (CSV-quoted),
 * numbers and ids stay as they are, rejected.csv keeps the raw line, and
 * `publish.formula_guard: false` gives the old bytes (the score step is
 * recomputed, not served from the cache).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvField } from "../components/common/csv/write.js";
import { openStorage } from "../components/common/storage/index.js";
import type { RunRecord } from "../pipelines/runner/records.js";
import { churnBin, spawnChurn } from "./support/cli.js";

const OUT = "output/2026-W48";
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

interface ManifestJson {
  run_id: string;
  model_version: string | null;
  files: Array<{ name: string; size: number; sha256: string; generation: string }>;
}
interface PullJson {
  status: string;
  manifest: ManifestJson | null;
  exit_code: number;
  reason: string | null;
  failure: string | null;
  known: string[];
}

let base: string;
let bucket: string;
/** The weekly lines the test planted: a formula in a passthrough column, an id like a formula, a rejected row. */
let rejectedLine: string;
/** The id of the row whose Card_Category is `=HYPERLINK("x")` and Income_Category `-3.5`. */
let formulaId: string;

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "publish-pull-"));
  bucket = join(base, "bucket");
  const init = await spawnChurn(["init", "--bucket", bucket, "--rows", "500"]);
  expect(init.code, init.stderr).toBe(0);
  const config = await readFile(join(bucket, "churn.yaml"), "utf8");
  // One model family keeps the suite quick; what is tested here is what happens after training.
  await writeFile(
    join(bucket, "churn.yaml"),
    config.replace("families: [logistic, gbdt, mlp]", "families: [logistic]"),
  );
  const path = join(bucket, "weekly/2026-W48.csv");
  const lines = (await readFile(path, "utf8")).split("\n");
  const header = lines[0]!.split(",");
  const column = (name: string) => header.indexOf(name);
  const edit = (at: number, values: Record<string, string>) => {
    const fields = lines[at]!.split(",");
    for (const [name, value] of Object.entries(values)) fields[column(name)] = value;
    lines[at] = fields.join(",");
  };
  edit(1, { Card_Category: '"=HYPERLINK(""x"")"', Income_Category: '"-3.5"' });
  edit(2, { CLIENTNUM: "=77123" });
  edit(3, { CLIENTNUM: "", Card_Category: '"=HYPERLINK(""x"")"' });
  rejectedLine = lines[3]!;
  formulaId = lines[1]!.split(",")[0]!;
  await writeFile(path, lines.join("\n"));
}, 120_000);
afterAll(() => rm(base, { recursive: true, force: true }));

async function run(extra: string[] = []): Promise<RunRecord> {
  const result = await spawnChurn(["pipeline", "run", "--bucket", bucket, "--json", ...extra]);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as RunRecord;
}

async function pull(to: string, extra: string[] = []) {
  const result = await spawnChurn([
    "pull",
    "--bucket",
    bucket,
    "--week",
    "2026-W48",
    "--to",
    to,
    "--json",
    ...extra,
  ]);
  return { ...result, json: JSON.parse(result.stdout) as PullJson };
}

/** The folder's files (not the markers), read independently of the code under test. */
async function folder(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort())
    if (!name.startsWith("_")) files.set(name, await readFile(join(dir, name)));
  return files;
}

/** The published scores.csv line of an id. */
async function scoresLine(id: string): Promise<string> {
  const text = await readFile(join(bucket, OUT, "scores.csv"), "utf8");
  return text.split("\n").find((l) => l.startsWith(`${id},`))!;
}

describe("a verifiable publish", () => {
  let record: RunRecord;
  let pulled: string;

  it("writes _SUCCESS as the manifest of exactly the week's files", async () => {
    record = await run();
    const manifest = JSON.parse(await readFile(join(bucket, OUT, "_SUCCESS"), "utf8")) as ManifestJson;
    expect(manifest.run_id).toBe(record.run_id);
    const files = await folder(join(bucket, OUT));
    expect(manifest.files.map((f) => f.name)).toEqual([...files.keys()]);
    expect([...files.keys()]).toEqual(
      expect.arrayContaining(["scores.csv", "rejected.csv", "summary.json", "report.html"]),
    );
    const storage = await openStorage(bucket);
    for (const f of manifest.files) {
      const bytes = files.get(f.name)!;
      expect({ size: f.size, sha256: f.sha256 }, f.name).toEqual({
        size: bytes.length,
        sha256: sha256(bytes),
      });
      expect(f.generation, f.name).toBe((await storage.stat(`${OUT}/${f.name}`))!.generation);
    }
    const summary = JSON.parse(files.get("summary.json")!.toString("utf8")) as { model_version: string };
    expect(manifest.model_version).toBe(summary.model_version);
  });

  it("guards formulas in scores.csv, never ids or numbers, and keeps rejected.csv's raw line raw", async () => {
    const first = await scoresLine(formulaId);
    expect(first.endsWith(`,"'=HYPERLINK(""x"")",-3.5`)).toBe(true);
    // The id column is never guarded.
    expect(await scoresLine("=77123")).toMatch(/^=77123,0\.\d{6},/);
    const rejected = await readFile(join(bucket, OUT, "rejected.csv"), "utf8");
    expect(rejected).toContain(`,${csvField(rejectedLine)}\n`);
    expect(rejected).not.toContain("'=HYPERLINK");
  });

  it("churn pull copies the set byte for byte, _SUCCESS last, and nothing else", async () => {
    pulled = join(base, "pulled");
    const result = await pull(pulled);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json).toMatchObject({ status: "complete", exit_code: 0 });
    // The manifest it reports is the bucket's _SUCCESS, as parsed.
    expect(result.json.manifest).toEqual(JSON.parse(await readFile(join(bucket, OUT, "_SUCCESS"), "utf8")));
    expect(result.json.manifest!.run_id).toBe(record.run_id);
    expect(await folder(pulled)).toEqual(await folder(join(bucket, OUT)));
    expect(await readFile(join(pulled, "_SUCCESS"))).toEqual(await readFile(join(bucket, OUT, "_SUCCESS")));
    // No staging folder left behind.
    expect((await readdir(pulled)).filter((n) => n.startsWith("."))).toEqual([]);
  });

  it("says a publish is in progress while files no longer match the manifest, or it is absent, and writes no mix", async () => {
    const before = await folder(pulled);
    const scores = join(bucket, OUT, "scores.csv");
    const original = await readFile(scores);
    // A next publish half way: scores.csv replaced (same size, other bytes), the manifest not yet.
    const replaced = Buffer.from(original);
    replaced[replaced.length - 2] = replaced[replaced.length - 2] === 0x31 ? 0x32 : 0x31;
    await writeFile(scores, replaced);
    const fresh = join(base, "fresh");
    for (const to of [pulled, fresh]) {
      const result = await pull(to, ["--timeout", "1"]);
      expect(result.code).toBe(1);
      expect(result.json).toMatchObject({ status: "in_progress", exit_code: 1 });
      expect(result.stderr).toMatch(/in progress/);
    }
    expect(await folder(pulled)).toEqual(before);
    expect(existsSync(join(fresh, "scores.csv"))).toBe(false);
    expect(existsSync(join(fresh, "_SUCCESS"))).toBe(false);

    // Ctrl-C while it waits: exit 130, the folder as it was.
    const waiting = spawnChurn(["pull", "--bucket", bucket, "--week", "2026-W48", "--to", pulled, "--json"]);
    await new Promise<void>((resolve) =>
      waiting.child.stderr!.on("data", (chunk) => {
        if (String(chunk).includes("retrying")) resolve();
      }),
    );
    waiting.child.kill("SIGINT");
    const interrupted = await waiting;
    expect(interrupted.code).toBe(130);
    expect(JSON.parse(interrupted.stdout)).toMatchObject({ status: "interrupted", exit_code: 130 });
    expect(interrupted.stderr).toMatch(/churn: interrupted/);
    expect(await folder(pulled)).toEqual(before);

    // No manifest at all while files are there (a first publish half way): in progress too.
    await unlink(join(bucket, OUT, "_SUCCESS"));
    const absent = await pull(pulled, ["--timeout", "0"]);
    expect(absent.code).toBe(1);
    expect(absent.json.status).toBe("in_progress");
    expect(absent.json.reason).toMatch(/no _SUCCESS manifest yet/);
    expect(await folder(pulled)).toEqual(before);

    // _FAILED and no manifest: the last run failed; retrying the pull cannot help.
    await writeFile(join(bucket, OUT, "_FAILED"), "step score failed: boom\n");
    const failed = await pull(pulled, ["--timeout", "5"]);
    expect(failed.code).toBe(2);
    expect(failed.json).toMatchObject({ status: "failed", failure: "step score failed: boom" });
    expect(failed.stderr).toMatch(/the last run failed: step score failed: boom/);
    expect(await folder(pulled)).toEqual(before);
  });

  it("tells a week with nothing published yet from an unknown week", async () => {
    await writeFile(join(bucket, "weekly/2026-W49.csv"), "CLIENTNUM\n1\n");
    const missing = await spawnChurn([
      "pull",
      "--bucket",
      bucket,
      "--week",
      "2026-W49",
      "--to",
      join(base, "w49"),
      "--json",
    ]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ status: "missing" });
    expect(missing.stderr).toMatch(/no complete publish of .*output\/2026-W49\/ yet/);
    const unknown = await spawnChurn([
      "pull",
      "--bucket",
      bucket,
      "--week",
      "2099-W01",
      "--to",
      join(base, "w"),
      "--json",
    ]);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ status: "unknown", known: ["2026-W48", "2026-W49"] });
    expect(existsSync(join(base, "w"))).toBe(false);
    await unlink(join(bucket, "weekly/2026-W49.csv"));
  });

  it("with publish.formula_guard: false recomputes the score step and writes the text as it came", async () => {
    // The guarded bytes as published (the bucket's copy was tampered with above; the pulled one was not).
    const guarded = await readFile(join(pulled, "scores.csv"), "utf8");
    const config = await readFile(join(bucket, "churn.yaml"), "utf8");
    await writeFile(join(bucket, "churn.yaml"), `${config}\npublish:\n  formula_guard: false\n`);
    const again = await run(["--force"]);
    expect(again.steps.find((s) => s.name === "score")!.state).toBe("succeeded");
    const raw = await readFile(join(bucket, OUT, "scores.csv"), "utf8");
    expect(raw).toBe(guarded.replace(`,"'=HYPERLINK(""x"")",`, `,"=HYPERLINK(""x"")",`));
    expect(raw).not.toBe(guarded);
    // The new publish is complete again (its manifest replaced _FAILED), and a pull replaces the local set.
    const result = await pull(pulled);
    expect(result.json).toMatchObject({ status: "complete", manifest: { run_id: again.run_id } });
    expect(await folder(pulled)).toEqual(await folder(join(bucket, OUT)));
  });
});
