/**
 * Customer lookup benchmark (issue 20 item 4): a week of N published
 * customers (default 10M; synthetic scores.csv rows in the real column
 * layout, a third with reasons as the tiers with reasons have them, a
 * contact list of 1% of them), its index built by the real builder
 * (components/common/documents/customer-index.ts), published with its
 * `_SUCCESS` manifest and `output/_latest.json`, then served by the real
 * model server in a child process (serving/lookup; no model needed) and
 * asked for random ids (10% unknown) at a fixed 500 req/s by autocannon on
 * 127.0.0.1. Prints the build time, the server's RSS growth from loading
 * and serving the index, and p50/p99 per run (median of the runs), with the
 * load average next to each figure. Targets: build <= 10 s, RSS growth
 * < 400 MB, p99 < 5 ms at 500 req/s.
 * Usage: npx tsx bench/lookup.ts [--customers 10000000] [--seconds 15] [--runs 3] [--rate 500]
 */
import { fork } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { latestPointer } from "../components/common/documents/latest.js";
import { buildManifest, manifestText } from "../components/common/documents/manifest.js";
import { LATEST_OBJECT, OUTPUT_FILES } from "../components/common/layout/index.js";
import { openStorage } from "../components/common/storage/index.js";

const { values } = parseArgs({
  options: {
    customers: { type: "string", default: "10000000" },
    seconds: { type: "string", default: "15" },
    runs: { type: "string", default: "3" },
    rate: { type: "string", default: "500" },
    "keep-dir": { type: "boolean", default: false },
  },
});
const customers = Number(values.customers);
const seconds = Math.min(Number(values.seconds), 120);
const runs = Math.max(1, Number(values.runs));
const rate = Number(values.rate);
const here = fileURLToPath(new URL(".", import.meta.url));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const STEM = "2026-W49";

/** What bench/lookup-build.ts reports. */
interface BuildReport {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
  size: number;
  sha256: string;
  scores: { sha256: string };
}
const idOf = (i: number) => `C${String(i).padStart(9, "0")}`;

const REASONS = [
  "Months Inactive 12 Mon: 4 (typical 2)",
  "Total Trans Ct: 38 (typical 67)",
  "Contacts Count 12 Mon: 5 (typical 2)",
  "Total Revolving Bal: 0 (typical 1276)",
  "Card Category: Blue",
];

/**
 * Synthetic scores.csv in the published layout (3 reasons, codes, model
 * version, one passthrough); returns its sha256, which publish has from the
 * step input's record and hands to the builder.
 */
async function writeScores(path: string): Promise<string> {
  const out = createWriteStream(path);
  const hash = createHash("sha256");
  const write = (text: string) => {
    hash.update(text);
    return out.write(text);
  };
  const header =
    "customer_id,churn_probability,risk_tier,reason_1,reason_2,reason_3,reason_codes,model_version,region\n";
  write(header);
  let chunk = "";
  for (let i = 0; i < customers; i++) {
    const p = ((i * 7919) % 10007) / 10007;
    const tier = p > 0.9 ? "high" : p > 0.7 ? "medium" : "low";
    const reasons =
      tier === "low"
        ? ",,,,"
        : `${REASONS[i % 5]},${REASONS[(i + 1) % 5]},${REASONS[(i + 2) % 5]},Months_Inactive_12_mon:+0.84;Total_Trans_Ct:+0.41;Contacts_Count_12_mon:+0.2,`;
    chunk += `${idOf(i)},${p.toFixed(6)},${tier},${reasons}m-3f9a2c41d0e7,region-${i % 50}\n`;
    if (chunk.length > 1 << 20) {
      if (!write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
      chunk = "";
    }
  }
  hash.update(chunk);
  out.end(chunk);
  await new Promise<void>((r) => out.once("finish", () => r()));
  return hash.digest("hex");
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "bench-lookup-"));
  try {
    const storage = await openStorage(dir);
    const prefix = `output/${STEM}/`;
    const scoresPath = join(dir, prefix, OUTPUT_FILES.scores);
    await mkdir(join(dir, prefix), { recursive: true });
    console.log(`generating ${customers.toLocaleString()} rows of scores.csv ... (load ${load()})`);
    const scoresSha256 = await writeScores(scoresPath);
    const scoresBytes = (await stat(scoresPath)).size;
    console.log(`scores.csv: ${(scoresBytes / 1e6).toFixed(0)} MB`);

    // Each build in its own process, as the publish step runs it (its wall and CPU time, peak RSS).
    const indexPath = join(dir, prefix, OUTPUT_FILES.lookupIndex);
    const builds: number[] = [];
    // CPU seconds beside wall time: on a shared machine the wall time includes waiting for a core.
    const cpus: number[] = [];
    const peaks: number[] = [];
    let built: BuildReport | null = null;
    for (let run = 0; run < runs; run++) {
      const child = fork(
        join(here, "lookup-build.ts"),
        [scoresPath, indexPath, scoresSha256, String(customers)],
        {
          execArgv: ["--import", "tsx"],
          stdio: "inherit",
        },
      );
      built = await new Promise<BuildReport>((resolve, reject) => {
        child.once("message", (m) => resolve(m as BuildReport));
        child.once("exit", (code) => reject(new Error(`the build exited with ${code}`)));
      });
      builds.push(built.seconds);
      cpus.push(built.cpuSeconds);
      peaks.push(built.peakRssMb);
      console.log(
        `build ${run + 1}: ${built.seconds.toFixed(2)} s wall, ${built.cpuSeconds.toFixed(2)} s CPU, peak RSS ${built.peakRssMb.toFixed(0)} MB, index ${(built.size / 1e6).toFixed(0)} MB (load ${load()})`,
      );
    }

    // Publish it as publish does: the manifest of the set, then the pointer.
    const files = await Promise.all(
      [
        [OUTPUT_FILES.scores, built!.scores.sha256],
        [OUTPUT_FILES.lookupIndex, built!.sha256],
      ].map(async ([name, sha256]) => ({
        name: name!,
        sha256: sha256!,
        info: (await storage.stat(`${prefix}${name}`))!,
      })),
    );
    await storage.write(
      `${prefix}${OUTPUT_FILES.success}`,
      manifestText(buildManifest("r-bench", "m-3f9a2c41d0e7", files)),
    );
    const now = new Date();
    await storage.write(
      LATEST_OBJECT,
      JSON.stringify(latestPointer(STEM, `weekly/${STEM}.csv`, now, "r-bench", now)),
    );

    // The server in its own process, so its RSS is the server's alone.
    const child = fork(join(here, "lookup-server.ts"), [dir], {
      execArgv: ["--import", "tsx"],
      stdio: "inherit",
    });
    const ask = (what: string) =>
      new Promise<{ rss: number; port?: number }>((resolve) => {
        child.once("message", (m) => resolve(m as { rss: number; port?: number }));
        child.send(what);
      });
    const started = await new Promise<{ rss: number; port: number }>((resolve) =>
      child.once("message", (m) => resolve(m as { rss: number; port: number })),
    );
    const base = `http://127.0.0.1:${started.port}`;
    const loadStart = performance.now();
    for (;;) {
      const r = await fetch(`${base}/v1/customers/${idOf(0)}`);
      if (r.status === 200) {
        console.log("sample answer:", JSON.stringify(await r.json()));
        break;
      }
      await r.arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
    }
    const loaded = await ask("rss");
    console.log(
      `server loaded the week in ${((performance.now() - loadStart) / 1000).toFixed(1)} s (copy + open), RSS ${(started.rss / 1e6).toFixed(0)} -> ${(loaded.rss / 1e6).toFixed(0)} MB (load ${load()})`,
    );

    const p50s: number[] = [];
    const p99s: number[] = [];
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    for (let run = 0; run < runs; run++) {
      const result = await autocannon({
        url: base,
        connections: 16,
        overallRate: rate,
        duration: seconds,
        requests: [
          {
            setupRequest: (request) => {
              // 10% ids no week holds (404), the rest spread over the whole week.
              const i = Math.floor(random() * customers * 1.1);
              return {
                ...request,
                method: "GET",
                path: `/v1/customers/${i < customers ? idOf(i) : `X${i}`}`,
              };
            },
          },
        ],
      });
      const bad = result.non2xx - (result["4xx"] ?? 0);
      p50s.push(result.latency.p50);
      p99s.push(result.latency.p99);
      console.log(
        `run ${run + 1}: ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms, 2xx ${result["2xx"]}, 4xx ${result["4xx"]}, other ${bad}, errors ${result.errors}, timeouts ${result.timeouts} (load ${load()})`,
      );
    }
    const after = await ask("rss");
    child.kill("SIGTERM");
    const growth = (after.rss - started.rss) / 1e6;
    console.log("\nsummary");
    console.log(
      `  customers         ${customers.toLocaleString()} (scores.csv ${(scoresBytes / 1e6).toFixed(0)} MB, index ${(built!.size / 1e6).toFixed(0)} MB)`,
    );
    console.log(
      `  build             median ${median(builds).toFixed(2)} s of ${builds.map((b) => b.toFixed(2)).join(", ")} (target <= 10 s); CPU median ${median(cpus).toFixed(2)} s, peak RSS median ${median(peaks).toFixed(0)} MB`,
    );
    console.log(
      `  server RSS growth ${growth.toFixed(0)} MB (${(started.rss / 1e6).toFixed(0)} -> ${(after.rss / 1e6).toFixed(0)} MB; target < 400 MB)`,
    );
    console.log(
      `  at ${rate} req/s    p50 median ${median(p50s)} ms, p99 median ${median(p99s)} ms of ${p99s.join(", ")} (target p99 < 5 ms)`,
    );
    console.log(`  load average      ${load()} (${values.customers} customers, 2 cores shared)`);
  } finally {
    if (!values["keep-dir"]) await rm(dir, { recursive: true, force: true });
  }
}

await main();
