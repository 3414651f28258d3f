/**
 * Model server benchmark on loopback: requests/s and p50/p99 latency for
 * 1-row and 100-row V2 infer requests against `churn serve` with a real model
 * (GBDT trained by `churn train` on an example bucket; rows from its weekly
 * file), and against MLServer (scikit-learn runtime, HistGradientBoosting with
 * the same leaf count on the numeric columns of the same history) started in
 * the same run. Only 127.0.0.1 is targeted; every run is bounded in time.
 * The 100-row runs are also measured with `parameters.reasons` 0 (no reasons
 * computed) and 3 (per-request reasons, issue 20).
 * Usage: npm run build && npx tsx bench/serving.ts [--seconds 10] [--connections 16] [--no-mlserver]
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { CsvParser } from "../components/common/csv/parse.js";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
    "no-mlserver": { type: "boolean", default: false },
  },
});
const seconds = Math.min(Number(values.seconds), 120);
const connections = Math.min(Number(values.connections), 256);
const root = fileURLToPath(new URL("..", import.meta.url));

interface Result {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(name: string, url: string, body: string): Promise<Result> {
  if (!url.startsWith("http://127.0.0.1:")) throw new Error("benchmarks only target 127.0.0.1");
  const r = await autocannon({
    url,
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
    connections,
    duration: seconds,
  });
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
  };
}

function start(
  command: string,
  args: string[],
  ready: (out: string) => string | undefined,
): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(command, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 180 s:\n${out.slice(-2000)}`)), 180_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const address = ready(out);
      if (address) {
        clearTimeout(timer);
        resolve({ child, address });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before becoming ready:\n${out.slice(-2000)}`));
    });
  });
}

function stop(child: ChildProcess): void {
  // The child was started in its own process group (detached): end that group, by its id.
  try {
    if (child.pid) process.kill(-child.pid, "SIGTERM");
  } catch {}
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await fetch(url).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

// A real model: an example bucket trained with `churn train` (GBDT, as selected on this data).
const bin = join(root, "dist", "cli", "bin.js");
const bucket = mkdtempSync(join(tmpdir(), "serving-bench-bucket-"));
const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`churn ${args.join(" ")}: ${r.stderr}`);
};
cli(["init", "--bucket", bucket, "--rows", "5000", "--weekly-rows", "200"]);
const configPath = join(bucket, "churn.yaml");
writeFileSync(configPath, readFileSync(configPath, "utf8").replace("[logistic, gbdt, mlp]", "[gbdt]"));
cli(["train", "--bucket", bucket]);

// The weekly file's first 100 rows, as records.
const records: Array<Record<string, string>> = [];
let header: string[] = [];
const parser = new CsvParser(
  { delimiter: ",", source: "weekly" },
  (fields) => {
    if (header.length === 0) header = [...fields];
    else if (records.length < 100) records.push(Object.fromEntries(header.map((h, i) => [h, fields[i]!])));
  },
  () => {},
);
parser.push(readFileSync(join(bucket, "weekly", "2026-W48.csv"), "utf8"));
parser.end();

const results: Result[] = [];
const ours = await start(process.execPath, [bin, "serve", "--bucket", bucket, "--port", "0"], (out) => {
  const line = out.split("\n").find((l) => l.includes('"model server ready"'));
  return line ? JSON.parse(line).address : undefined;
});
let numeric: string[] = [];
try {
  const meta = (await (await fetch(`${ours.address}/v2/models/churn`)).json()) as {
    inputs: Array<{ name: string; datatype: string }>;
  };
  numeric = meta.inputs.filter((i) => i.datatype !== "BYTES").map((i) => i.name);
  const rowsBody = (n: number, reasons?: number) =>
    JSON.stringify({
      ...(reasons !== undefined ? { parameters: { reasons } } : {}),
      inputs: meta.inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: [n],
        data: records.slice(0, n).map((r) => (t.datatype === "BYTES" ? r[t.name] : Number(r[t.name]))),
      })),
    });
  const url = `${ours.address}/v2/models/churn/infer`;
  await load("warm-up", url, rowsBody(1));
  results.push(await load("churn  1 row", url, rowsBody(1)));
  results.push(await load("churn  100 rows", url, rowsBody(100)));
  // Per-request reasons (issue 20): none at all, and 3 for every row that gets reasons.
  results.push(await load("churn  100 rows r0", url, rowsBody(100, 0)));
  results.push(await load("churn  100 rows r3", url, rowsBody(100, 3)));
} finally {
  stop(ours.child);
}
const mlBody = (n: number) =>
  JSON.stringify({
    inputs: [
      {
        name: "predict",
        shape: [n, numeric.length],
        datatype: "FP64",
        data: records.slice(0, n).flatMap((r) => numeric.map((c) => Number(r[c]))),
      },
    ],
  });

let mlserverNote = "";
if (!values["no-mlserver"]) {
  const port = 18_000 + Math.floor(Math.random() * 1000);
  const dir = mkdtempSync(join(tmpdir(), "mlserver-bench-"));
  let ml: { child: ChildProcess } | undefined;
  try {
    const history = join(bucket, "input", "history.csv");
    ml = await start(
      "bash",
      ["bench/serving-mlserver.sh", String(port), dir, history, numeric.join(",")],
      (out) =>
        /Uvicorn running|Application startup complete|HTTP server running/i.test(out) ? "up" : undefined,
    );
    await waitReady(`http://127.0.0.1:${port}/v2/models/churn/ready`, 120_000);
    const url = `http://127.0.0.1:${port}/v2/models/churn/infer`;
    await load("warm-up", url, mlBody(1));
    results.push(await load("MLServer 1 row", url, mlBody(1)));
    results.push(await load("MLServer 100 rows", url, mlBody(100)));
  } catch (error) {
    mlserverNote = `MLServer could not be measured: ${(error as Error).message.split("\n").slice(0, 12).join("\n")}`;
  } finally {
    if (ml) stop(ml.child);
  }
}

console.log(
  `loopback, ${connections} connections, ${seconds} s per run, churn serve on one Node process (GBDT from churn train; MLServer: sklearn HistGradientBoosting on the ${numeric.length} numeric columns)`,
);
console.log("run                    req/s      rows/s     p50 ms  p99 ms  non-2xx errors");
for (const r of results) {
  const rows = r.name.includes("100") ? 100 : 1;
  console.log(
    `${r.name.padEnd(21)} ${r.rps.toFixed(0).padStart(7)} ${(r.rps * rows).toFixed(0).padStart(10)} ${String(r.p50).padStart(8)} ${String(r.p99).padStart(7)} ${String(r.non2xx).padStart(8)} ${String(r.errors).padStart(6)}`,
  );
}
const get = (name: string) => results.find((r) => r.name === name);
for (const n of ["1 row", "100 rows", "100 rows r0", "100 rows r3"]) {
  const a = get(`churn  ${n}`);
  const b = get(`MLServer ${n.replace(/ r\d$/, "")}`);
  if (a && b)
    console.log(`${n}: ${(a.rps / b.rps).toFixed(1)}x MLServer's requests/s; p99 ${a.p99} ms vs ${b.p99} ms`);
}
if (mlserverNote) console.log(mlserverNote);
