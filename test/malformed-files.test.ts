import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baseStem, stemOf } from "../components/common/layout/index.js";
import { type CliResult, spawnChurn, stderrMessages } from "./support/cli.js";
import {
  type Expectation,
  expectationFor,
  MALFORMED_FILES,
  type MalformedFile,
  type ValidWeekly,
} from "./support/malformed-files.js";

/**
 * Every row of test/support/malformed-files.ts through the built CLI, both
 * ways a weekly file is read: `churn validate weekly/<name> --bucket B` and
 * the weekly run (`churn pipeline run --weekly weekly/<name>`, ingest as a
 * child process, as in production). A bad file must end with exit 2 and one
 * sentence naming the file and the problem, never a silent exit 13, never a
 * stack trace, and the runner must not retry it (retries are for exit 1).
 *
 * One bucket is made and trained once (300 history rows, the gate lowered:
 * 300 rows are too few for the default 0.80); each case has its own weekly
 * name, so its run id, its output folder and its record are its own, and two
 * cases run at a time (the machine has 2 cores).
 */

const ROWS = 300;
let bucket: string;
let outside: string;
let weekly: ValidWeekly;

/** At most `n` bodies at once (vitest starts more concurrent tests than the 2 cores can take). */
function limit(n: number) {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(body: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await body();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}
const slot = limit(2);

beforeAll(async () => {
  bucket = await mkdtemp(join(tmpdir(), "churn-malformed-"));
  outside = await mkdtemp(join(tmpdir(), "churn-malformed-outside-"));
  const init = await spawnChurn([
    "init",
    "--bucket",
    bucket,
    "--rows",
    String(ROWS),
    "--weekly-rows",
    String(ROWS),
  ]);
  expect(init.code, init.stderr).toBe(0);
  const config = join(bucket, "churn.yaml");
  const yaml = await readFile(config, "utf8");
  expect(yaml).toMatch(/min_roc_auc: 0\.80/);
  await writeFile(config, yaml.replace(/min_roc_auc: 0\.80/, "min_roc_auc: 0.60"));
  const train = await spawnChurn(["pipeline", "run", "--bucket", bucket, "--weekly", "weekly/2026-W48.csv"]);
  expect(train.code, train.stderr).toBe(0);
  const lines = (await readFile(join(bucket, "weekly/2026-W48.csv"), "utf8")).trimEnd().split("\n");
  weekly = { header: lines[0]!, rows: lines.slice(1) };
  expect(weekly.rows).toHaveLength(ROWS);
}, 300_000);
afterAll(async () => {
  await rm(bucket, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

/** Exit code, no stack trace, and the message where the table says it is (see malformed-files.ts). */
function checkOutcome(
  check: typeof expect,
  what: string,
  object: string,
  result: CliResult,
  want: Expectation,
  published = "",
) {
  const shown = `${what}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
  check(result.code, shown).toBe(want.exit);
  check(result.stdout + result.stderr, shown).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
  if (want.exit !== 0) {
    const line = stderrMessages(result.stderr)
      .split("\n")
      .find((l) => l.includes(object) && want.message.test(l));
    check(
      line,
      `${what}: no stderr line names ${object} and matches ${want.message}\n${shown}`,
    ).toBeDefined();
  } else {
    check(result.stdout + result.stderr, shown).toContain(object);
    check(`${result.stdout}${published}`, shown).toMatch(want.message);
  }
}

/** The run record of a finished run, read from the bucket (the runner's own document). */
async function runRecord(result: CliResult) {
  const id = /weekly run (r-[0-9a-f]+)/.exec(result.stdout + result.stderr)?.[1];
  if (!id) throw new Error(`no run id in the output:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(await readFile(join(bucket, "runs", id, "run.json"), "utf8")) as {
    exit_code: number;
    steps: Array<{ name: string; exit_code: number | null; attempts: number }>;
  };
}

async function readOrEmpty(path: string): Promise<string> {
  return readFile(path, "utf8").catch(() => "");
}

describe("malformed weekly files through churn validate and the weekly run", () => {
  it("has at least 30 cases, each with a unique name the trigger rule accepts", () => {
    expect(MALFORMED_FILES.length).toBeGreaterThanOrEqual(30);
    const stems = MALFORMED_FILES.map((row) => stemOf(`weekly/${row.name}`));
    expect(new Set(stems).size).toBe(stems.length);
  });

  it.concurrent.for(MALFORMED_FILES)("$name: $about", async (row: MalformedFile, { expect: check }) => {
    await slot(async () => {
      const object = `weekly/${row.name}`;
      await writeFile(join(bucket, object), row.bytes(weekly));

      const validate = await spawnChurn(["validate", object, "--bucket", bucket]);
      checkOutcome(check, `churn validate ${object}`, object, validate, expectationFor(row, "validate"));

      const run = await spawnChurn(["pipeline", "run", "--bucket", bucket, "--weekly", object]);
      const want = expectationFor(row, "run");
      const output = join(bucket, "output", baseStem(object));
      const record = await runRecord(run);
      check(record.exit_code).toBe(want.exit);
      // Retries are for exit 1 only: no step of a bad-input run was tried twice.
      check(record.steps.filter((s) => s.attempts > 1).map((s) => s.name)).toEqual([]);
      if (want.exit === 0) {
        const summary = JSON.parse(await readFile(join(output, "summary.json"), "utf8"));
        check(summary.counts.rows_in).toBe(summary.counts.scored + summary.counts.rejected);
        // validate and the run agree row for row: the same accepted and rejected counts.
        const counted = /: ([\d,]+) rows, ([\d,]+) accepted, ([\d,]+) rejected/.exec(validate.stdout);
        const number = (text: string | undefined) => Number((text ?? "").replaceAll(",", ""));
        check(counted, `validate printed no counts:\n${validate.stdout}`).not.toBeNull();
        check([number(counted?.[2]), number(counted?.[3])]).toEqual([
          summary.counts.scored,
          summary.counts.rejected,
        ]);
        checkOutcome(
          check,
          `churn pipeline run --weekly ${object}`,
          object,
          run,
          want,
          await readOrEmpty(join(output, "rejected.csv")),
        );
      } else {
        checkOutcome(check, `churn pipeline run --weekly ${object}`, object, run, want);
        const failed = record.steps.find((s) => s.exit_code === want.exit);
        check(failed?.name).toBe("ingest-weekly");
        check(failed?.attempts).toBe(1);
        check(await readOrEmpty(join(output, "_FAILED"))).toMatch(want.message);
      }
    });
  });
});

/** Every file under a folder, recursively, relative to it (sorted). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => !e.isDirectory())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe("names and links the weekly run refuses before writing anything", () => {
  // A copy of the trained bucket, so the listing of output/ is not moved by the cases above.
  let copy: string;
  beforeAll(async () => {
    copy = await mkdtemp(join(tmpdir(), "churn-malformed-names-"));
    await cp(bucket, copy, { recursive: true });
    await rm(join(copy, "output"), { recursive: true, force: true });
    await writeFile(
      join(outside, "passwd"),
      "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/sbin/nologin\n",
    );
  });
  afterAll(() => rm(copy, { recursive: true, force: true }));

  it("a weekly file linked to a file outside the bucket: exit 2 naming the link, nothing of it shown, nothing written", async () => {
    await symlink(join(outside, "passwd"), join(copy, "weekly/passwd.csv"));
    const validate = await spawnChurn(["validate", "weekly/passwd.csv", "--bucket", copy]);
    const run = await spawnChurn(["pipeline", "run", "--bucket", copy, "--weekly", "weekly/passwd.csv"]);
    for (const result of [validate, run]) {
      expect(result.code, result.stderr).toBe(2);
      expect(stderrMessages(result.stderr)).toMatch(
        /weekly\/passwd\.csv: it is a symbolic link to .*\/passwd, outside the bucket folder .*; a local bucket never follows links out of its folder/,
      );
      expect(result.stdout + result.stderr).not.toContain("root:");
      expect(result.stdout + result.stderr).not.toContain("daemon:");
    }
    expect(await filesUnder(join(copy, "output"))).toEqual([]);
  });

  it.each([
    ["weekly/..csv", /"weekly\/\.\.csv" cannot be processed: its stem "\." is reserved or empty/],
    ["weekly/....csv", /"weekly\/\.\.\.\.csv" cannot be processed: its stem "\.\.\." ends with "\."/],
    ["weekly/LIFETIME.csv", /"weekly\/LIFETIME\.csv" cannot be processed: its stem "LIFETIME" is reserved/],
  ])(
    "%s: validate and the run exit 2 with the stem rule's sentence, and nothing is written",
    async (object, message) => {
      await writeFile(join(copy, object), `${weekly.header}\n${weekly.rows.join("\n")}\n`);
      const runsBefore = await filesUnder(join(copy, "runs"));
      const validate = await spawnChurn(["validate", object, "--bucket", copy]);
      const run = await spawnChurn(["pipeline", "run", "--bucket", copy, "--weekly", object]);
      for (const result of [validate, run]) {
        expect(result.code, result.stderr).toBe(2);
        expect(stderrMessages(result.stderr)).toMatch(message);
      }
      expect(await filesUnder(join(copy, "output"))).toEqual([]);
      expect(await filesUnder(join(copy, "runs"))).toEqual(runsBefore);
    },
  );
});
