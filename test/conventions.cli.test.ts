import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SNAKE_KEY, USER_DATA_RECORDS } from "../components/common/documents/keys.js";
import { churnBin, spawnChurn, startChurnServe, useQuickModels } from "./support/cli.js";

// Issue 18 item 11 through the built CLI: one key style (snake_case) in every
// --json output, a description for every field of `churn config schema`, and
// numeric --help defaults shown as numbers.

/**
 * The records whose keys are data, not field names, and why; everything else
 * in a --json document must be snake_case. (`runs logs` is keyed by step
 * name: checked against the run's steps below.)
 */
const DATA_KEYED: Record<string, string> = {
  labels: "churn.yaml's column -> display label map: the user's column names (Total_Trans_Ct)",
  reasons: "rejected rows counted by reason sentence (empty id)",
  timings: "seconds by step name (join-labels): step names are the same in code, CLI, Jobs and chart",
};

let base: string;
let bucket: string;
let first: string;
let second: string;
let runId: string;
/** Every --json document, by the command that printed it. */
const documents = new Map<string, unknown>();

const churn = (args: string[]) => spawnChurn(args);
/** Run a command with --json and keep its document (`name` says which); `codes` are the accepted exit codes. */
async function record(name: string, args: string[], codes = [0]): Promise<unknown> {
  const result = await churn([...args, "--json"]);
  expect(codes, `${name}: ${result.stderr}`).toContain(result.code);
  const doc = JSON.parse(result.stdout) as unknown;
  documents.set(name, doc);
  return doc;
}

/** Every key that is not snake_case, as a path; keys of data-keyed records are skipped. */
function offStyleKeys(value: unknown, path = "", keysAreData = false): string[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => offStyleKeys(item, `${path}[${i}]`));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, item]) => [
    ...(keysAreData || SNAKE_KEY.test(key) ? [] : [`${path}.${key}`]),
    ...offStyleKeys(item, `${path}.${key}`, key in DATA_KEYED),
  ]);
}

beforeAll(async () => {
  expect(existsSync(churnBin), "dist/ missing: run npm run build").toBe(true);
  base = await mkdtemp(join(tmpdir(), "conventions-"));
  bucket = join(base, "bucket");
  await record("init", ["init", "--bucket", bucket, "--rows", "400", "--weekly-rows", "60"]);
  const config = join(bucket, "churn.yaml");
  await useQuickModels(bucket);
  runId = ((await record("pipeline run", ["pipeline", "run", "--bucket", bucket])) as { run_id: string })
    .run_id;
  first = (
    (await record("models list (one)", ["models", "list", "--bucket", bucket])) as {
      champion: { version: string };
    }
  ).champion.version;
  // A second model (another family) for models compare, promote and rollback.
  await writeFile(
    config,
    (await readFile(config, "utf8")).replace("families: [logistic]", "families: [gbdt]"),
  );
  await record("train", ["train", "--bucket", bucket]);
  const listing = (await record("models list", ["models", "list", "--bucket", bucket])) as {
    models: Array<{ version: string }>;
  };
  second = listing.models.find((m) => m.version !== first)!.version;
}, 600_000);
afterAll(() => rm(base, { recursive: true, force: true }));

describe("--json output: one key style, snake_case", () => {
  it("in every document of every command, at every depth", async () => {
    const weekly = "weekly/2026-W48.csv";
    const customer = (await readFile(join(bucket, weekly), "utf8")).split("\n")[1]!.split(",")[0]!;
    // A weekly file with a row without an id: validate reports it (first_rejects, reasons).
    const lines = (await readFile(join(bucket, weekly), "utf8")).trimEnd().split("\n");
    lines[3] = lines[3]!.replace(/^[^,]*/, "");
    const odd = join(base, "odd.csv");
    await writeFile(odd, `${lines.join("\n")}\n`);

    await record("runs list", ["runs", "list", "--bucket", bucket]);
    const shown = (await record("runs show", ["runs", "show", runId, "--bucket", bucket])) as {
      steps: Array<{ name: string }>;
    };
    // runs logs is keyed by step name (checked against the run's steps below), so not walked.
    const logged = await churn(["runs", "logs", runId, "--bucket", bucket, "--json"]);
    expect(logged.code, logged.stderr).toBe(0);
    const logs = JSON.parse(logged.stdout) as Record<string, unknown>;
    await record("models show", ["models", "show", first, "--bucket", bucket]);
    await record("models compare", ["models", "compare", first, second, "--bucket", bucket]);
    await record("models promote", ["models", "promote", first, "--bucket", bucket]);
    await record("models rollback", ["models", "rollback", "--bucket", bucket]);
    await record("pipeline run lifetime", ["pipeline", "run", "lifetime", "--bucket", bucket]);
    await record("score", ["score", "--bucket", bucket, "--weekly", weekly, "--force"]);
    await record("validate", ["validate", weekly, "--bucket", bucket]);
    await record("validate (rejects)", ["validate", odd, "--bucket", bucket, "--mode", "scoring"], [0, 2]);
    await record("validate (history)", ["validate", "input/history.csv", "--bucket", bucket]);
    await record("config show", ["config", "show", "--bucket", bucket]);
    await record("pipeline show", ["pipeline", "show", "weekly"]);
    await record("pull", ["pull", "--bucket", bucket, "--week", "2026-W48", "--to", join(base, "pulled")]);
    await record("forget", ["forget", "--bucket", bucket, "--customer-id", customer, "--dry-run"]);
    // "1" is in binary and model objects forget cannot rewrite: a partial forget, still one document.
    await record(
      "forget (partial)",
      ["forget", "--bucket", bucket, "--customer-id", "1", "--dry-run"],
      [0, 1],
    );
    await record("version", ["--version"]);
    await record("an error", ["runs", "list", "--bucket", join(base, "no-such-bucket")], [2]);

    // watch --once: one JSON line per run it started, here for one new upload.
    await copyFile(join(bucket, weekly), join(bucket, "weekly", "2026-W49.csv"));
    const watched = await churn(["watch", "--bucket", bucket, "--once", "--json"]);
    expect(watched.code, watched.stderr).toBe(0);
    const watchLines = watched.stdout.trimEnd().split("\n");
    expect(watchLines).toHaveLength(1);
    documents.set("watch --once", JSON.parse(watchLines[0]!));

    for (const [name, doc] of documents) expect(offStyleKeys(doc), name).toEqual([]);

    // The renaming happened (stored documents keep rowsIn, trainingRows, missingTokens, ...).
    const validate = documents.get("validate") as Record<string, unknown> & {
      schema: { id_column: string; columns: Array<Record<string, unknown>> };
    };
    expect(validate.rows_in).toBeGreaterThan(0);
    expect(validate.schema.id_column).toBe("CLIENTNUM");
    expect(validate.schema.columns[0]).toHaveProperty("missing_tokens");
    const rejects = documents.get("validate (rejects)") as {
      reasons: Record<string, number>;
      first_rejects: [];
    };
    expect(rejects.reasons).toEqual({ "empty id": 1 });
    expect(rejects.first_rejects).toHaveLength(1);
    expect((documents.get("models show") as { model: Record<string, unknown> }).model).toHaveProperty(
      "training_rows",
    );
    const run = documents.get("pipeline run") as { exit_code: number; steps: Array<{ counts: object }> };
    expect(run.exit_code).toBe(0);
    expect(run.steps.find((s) => "rows_in" in s.counts)).toBeDefined();
    // The data-keyed records keep their keys as written.
    const labels = (documents.get("config show") as { labels: Record<string, string> }).labels;
    expect(Object.keys(labels)).toContain("Total_Trans_Ct");
    expect([...USER_DATA_RECORDS].sort()).toEqual(Object.keys(DATA_KEYED).sort());
    // runs logs is keyed by step name, the names of `runs show`.
    expect(Object.keys(logs).sort()).toEqual(shown.steps.map((s) => s.name).sort());
    for (const text of Object.values(logs)) expect(typeof text).toBe("string");
  }, 600_000);

  it("in churn serve's log lines (one JSON object per line when stderr is not a terminal)", async () => {
    const server = await startChurnServe(["--bucket", bucket, "--port", "0"]);
    const exited = new Promise<void>((done) => server.child.once("exit", () => done()));
    server.child.kill("SIGTERM");
    await exited;
    // stdout and stderr interleaved: the log lines, and the human closing line on stdout.
    const lines = server.log().trimEnd().split("\n");
    expect(lines.filter((line) => !line.startsWith("{"))).toEqual([
      expect.stringMatching(/^model server on \S+ stopped$/),
    ]);
    const objects = lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects.map((o) => o.message)).toContain("model server ready");
    for (const object of objects) expect(offStyleKeys(object), JSON.stringify(object)).toEqual([]);
  }, 120_000);
});

describe("churn config schema", () => {
  it("describes every property of every object, the root too, with snake_case property names", async () => {
    const result = await churn(["config", "schema"]);
    expect(result.code, result.stderr).toBe(0);
    const schema = JSON.parse(result.stdout) as Record<string, unknown>;
    const undescribed: string[] = [];
    const offStyle: string[] = [];
    let properties = 0;
    // JSON Schema's own keywords (additionalProperties, anyOf, ...) are the standard's, not ours: only property names are checked.
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) {
        node.forEach((item, i) => {
          walk(item, `${path}[${i}]`);
        });
        return;
      }
      if (node === null || typeof node !== "object") return;
      for (const [key, value] of Object.entries(node)) {
        if (key === "properties") {
          for (const [name, property] of Object.entries(value as Record<string, Record<string, unknown>>)) {
            properties++;
            if (typeof property.description !== "string" || property.description.length < 10)
              undescribed.push(`${path}.${name}`);
            if (!SNAKE_KEY.test(name)) offStyle.push(`${path}.${name}`);
            walk(property, `${path}.${name}`);
          }
        } else walk(value, `${path}/${key}`);
      }
    };
    walk(schema, "");
    expect(properties).toBeGreaterThan(80);
    expect(undescribed).toEqual([]);
    expect(offStyle).toEqual([]);
    expect(schema.description).toMatch(/churn\.yaml/);
  });
});

describe("--help", () => {
  /** Every command path, found by reading each help's Commands: section. */
  async function commandPaths(path: string[] = []): Promise<Array<{ path: string[]; help: string }>> {
    const result = await churn([...path, "--help"]);
    expect(result.code, result.stderr).toBe(0);
    const section = /\nCommands:\n([\s\S]*?)(?:\n\S|$)/.exec(result.stdout)?.[1] ?? "";
    const subs = [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((s) => s !== "help");
    // One at a time: the machine is shared.
    const found = [{ path, help: result.stdout }];
    for (const sub of subs) found.push(...(await commandPaths([...path, sub])));
    return found;
  }

  it("shows numeric defaults as numbers in every command's help", async () => {
    const helps = await commandPaths();
    expect(helps.length).toBeGreaterThan(25);
    const quoted: string[] = [];
    let numeric = 0;
    for (const { path, help } of helps) {
      // Lines wrap at 80 columns, also inside "(default: ...)".
      const flat = help.replace(/\s+/g, " ");
      for (const m of flat.matchAll(/\(default: ("-?\d+(?:\.\d+)?")\)/g))
        quoted.push(`churn ${path.join(" ")}: ${m[1]}`);
      numeric += [...flat.matchAll(/\(default: -?\d+(?:\.\d+)?\)/g)].length;
    }
    expect(quoted).toEqual([]);
    expect(numeric).toBeGreaterThan(10);
    const init = helps.find((h) => h.path.join(" ") === "init")!.help.replace(/\s+/g, " ");
    expect(init).toContain("--rows <n> labelled history rows (at least 100) (default: 20000)");
    expect(init).toContain("(default: 42)");
  }, 300_000);
});
