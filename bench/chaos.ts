/**
 * The long chaos run of issue 25, by hand (the CI test does a dozen kills):
 * SIGKILLs of the weekly run at seeded random moments of every step in turn,
 * publish included; after each kill `churn pull` must give one publish's
 * complete set or say none is available, and the rerun's scores.csv must be
 * byte-identical to an uninterrupted run's. Prints the counts the closing
 * note reports. About 25 s per kill on the 2-core machine.
 *
 *   npm run build && npx tsx bench/chaos.ts [--kills 100] [--seed 25] [--rows 1500]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runChaos } from "../test/support/chaos.js";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "100" },
    seed: { type: "string", default: "25" },
    rows: { type: "string", default: "1500" },
  },
});
const bin = join(resolve(import.meta.dirname, ".."), "dist", "cli", "bin.js");
const base = mkdtempSync(join(tmpdir(), "bench-chaos-"));
const template = join(base, "template");
try {
  const init = spawnSync(
    process.execPath,
    [bin, "init", "--bucket", template, "--rows", values.rows, "--weekly-rows", "400"],
    {
      encoding: "utf8",
    },
  );
  if (init.status !== 0) throw new Error(`churn init failed: ${init.stderr}`);
  const configPath = join(template, "churn.yaml");
  writeFileSync(
    configPath,
    readFileSync(configPath, "utf8")
      .replace("families: [logistic, gbdt, mlp]", "families: [gbdt]")
      .replace("cv_folds: 5", "cv_folds: 2"),
  );
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const report = await runChaos({
    template,
    stem: "2026-W48",
    kills: Number(values.kills),
    seed: Number(values.seed),
    log: console.log,
  });
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  console.log(JSON.stringify(report, null, 2));
  process.exitCode = report.problems.length === 0 ? 0 : 1;
} finally {
  rmSync(base, { recursive: true, force: true });
}
