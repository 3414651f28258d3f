/**
 * Batch scoring throughput: rows/s for one weekly file scored in-process and
 * through the model server (`churn score --via-server`, V2 over loopback), in
 * the same run, on the same bucket and model, and a check that the two
 * scores.csv files are byte-identical.
 *
 *   npx tsx bench/serving-batch.ts [--rows 1000000] [--history 20000]
 *
 * The example bucket (the `churn init` generator) is written to a temp folder;
 * training tries logistic and gbdt (mlp is left out to keep the run short);
 * reasons are off (score.reasons_for: []) as in bench/score.ts, because
 * TreeSHAP reasons cost about a millisecond a row in both modes alike. The
 * server runs as its own process (`churn serve`), as in production; the
 * numbers are for the score step alone (the ingest step is the same in both).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse, stringify } from "yaml";
import { runInProcess } from "../cli/main.js";
import { outputDocSchema } from "../components/common/component/spec.js";
import { stepOutputObject } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";
import { initExampleBucket } from "../components/example-bucket/index.js";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    history: { type: "string", default: "20000" },
    keep: { type: "boolean", default: false },
  },
});
const ROWS = Number(values.rows);
const root = fileURLToPath(new URL("..", import.meta.url));

async function cli(argv: string[]): Promise<string> {
  const { code, stdout, stderr } = await runInProcess(argv, root);
  if (code !== 0) throw new Error(`churn ${argv[0]} exited ${code}: ${stderr.slice(-2000)}`);
  return stdout;
}

/** Start `churn serve` in its own process group and wait for its ready line. */
function serve(bucket: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "cli/bin.ts", "serve", "--bucket", bucket, "--port", "0"],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 120 s:\n${out.slice(-2000)}`)), 120_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.includes('"model server ready"'));
      if (line) {
        clearTimeout(timer);
        resolve({ child, address: JSON.parse(line).address });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`churn serve exited with ${code}:\n${out.slice(-2000)}`));
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), "churn-bench-batch-"));
const storage = await openStorage(`file://${dir}`);
let server: ChildProcess | undefined;
try {
  let t = performance.now();
  await initExampleBucket(storage, { rows: Number(values.history), weeklyRows: ROWS, seed: 42, force: true });
  const config = parse(await storage.readText("churn.yaml")) as Record<string, Record<string, unknown>>;
  config.train = { ...config.train, families: ["logistic", "gbdt"] };
  config.score = { ...config.score, reasons_for: [] };
  await storage.write("churn.yaml", stringify(config));
  const weekly = (await storage.list("weekly/"))[0]!.name;
  console.log(`example bucket: ${ROWS} weekly rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  await cli(["train", "--bucket", dir, "--json"]);
  console.log(`trained in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // Both runs publish output/<stem>/scores.csv (churn score is the score pipeline): read each run's own step.
  const stepSeconds = async (runId: string) => {
    const doc = outputDocSchema.parse(JSON.parse(await storage.readText(stepOutputObject(runId, "score"))));
    return doc.timings.seconds;
  };
  // The score steps' own parts (merge-scores of the second run may be a cache hit on the first's bytes).
  const scoresOf = async (runId: string) => {
    const doc = outputDocSchema.parse(JSON.parse(await storage.readText(stepOutputObject(runId, "score"))));
    return storage.readText(doc.outputs.scores!.object);
  };

  t = performance.now();
  const a = JSON.parse(await cli(["score", "--bucket", dir, "--weekly", weekly, "--json"]));
  const wholeA = (performance.now() - t) / 1000;
  const inProcess = await stepSeconds(a.run_id);

  const started = await serve(dir);
  server = started.child;
  t = performance.now();
  const b = JSON.parse(
    await cli([
      "score",
      "--bucket",
      dir,
      "--weekly",
      weekly,
      "--force",
      "--via-server",
      started.address,
      "--json",
    ]),
  );
  const wholeB = (performance.now() - t) / 1000;
  const viaServer = await stepSeconds(b.run_id);
  const same = (await scoresOf(a.run_id)) === (await scoresOf(b.run_id));

  console.log(
    `
${ROWS} rows, probabilities and tiers (no reasons), ${cpus().length} cores, server in its own process, 4 requests in flight of 500 rows (the score component's defaults)`,
  );
  console.log("mode             score step s   rows/s     churn score total s");
  console.log(
    `in-process       ${inProcess.toFixed(2).padStart(10)} ${(ROWS / inProcess).toFixed(0).padStart(10)} ${wholeA.toFixed(2).padStart(12)}`,
  );
  console.log(
    `via server (V2)  ${viaServer.toFixed(2).padStart(10)} ${(ROWS / viaServer).toFixed(0).padStart(10)} ${wholeB.toFixed(2).padStart(12)}`,
  );
  console.log(
    `through the server: ${(inProcess / viaServer).toFixed(2)}x the in-process rate; scores.csv byte-identical: ${same}`,
  );
  if (!same) process.exitCode = 1;
} finally {
  if (server?.pid) {
    try {
      process.kill(-server.pid, "SIGTERM");
    } catch {}
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
