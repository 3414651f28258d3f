/**
 * Ingest throughput and memory, next to the fastest bare CSV parses of the
 * same file, measured in the same run.
 *
 *   npx tsx bench/ingest.ts [--rows 1000000] [--big 4000000] [--keep]
 *
 * Writes a BankChurners-shaped labelled file with the `churn init` generator
 * (components/example-bucket) to a temp folder, then runs each measurement in
 * its own child process so every peak RSS is that measurement's alone:
 *   - papaparse: Papa.parse over the whole file as one string (its fastest mode)
 *   - udsv: uDSV stringArrs over the whole string (its fastest mode)
 *   - csvparser: our CsvParser alone, streaming (decode + parse, no checks)
 *   - ingest: the full ingest (decode, parse, types, contract checks, id set,
 *     profile, Arrow IPC encoding of every batch), streaming from the file
 * and finally the full ingest again on --big rows for the memory figure.
 */
import { execFileSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);

interface Measurement {
  what: string;
  rows: number;
  seconds: number;
  maxRssMB: number;
}

async function child(what: string, file: string): Promise<Measurement> {
  // Load every module first so compile time is not measured.
  await Promise.all([
    import("papaparse"),
    import("udsv"),
    import("../components/common/csv/parse.js"),
    import("../components/ingest/ingest.js"),
    import("../components/common/schema/arrow.js"),
    import("../components/common/config/index.js"),
  ]);
  const started = process.hrtime.bigint();
  let rows = 0;
  if (what === "papaparse") {
    const Papa = (await import("papaparse")).default;
    const text = readFileSync(file, "latin1");
    rows = Papa.parse<string[]>(text, { header: false, skipEmptyLines: true }).data.length - 1;
  } else if (what === "udsv") {
    const { inferSchema, initParser } = await import("udsv");
    const text = readFileSync(file, "latin1");
    const parser = initParser(inferSchema(text));
    rows = parser.stringArrs(text).length;
  } else if (what === "csvparser") {
    const { openText } = await import("../components/common/csv/decode.js");
    const { CsvParser } = await import("../components/common/csv/parse.js");
    const parser = new CsvParser(
      { delimiter: ",", source: file },
      () => {
        rows++;
      },
      () => {},
    );
    for await (const text of openText(createReadStream(file, { highWaterMark: 1 << 16 }), { source: file })) {
      parser.push(text);
    }
    parser.end();
    rows--;
  } else {
    const { parseConfig } = await import("../components/common/config/index.js");
    const { ingest } = await import("../components/ingest/ingest.js");
    const { ArrowStreamWriter } = await import("../components/common/schema/arrow.js");
    let writer: InstanceType<typeof ArrowStreamWriter> | null = null;
    let bytes = 0;
    let drained: Promise<void> | null = null;
    const result = await ingest(
      createReadStream(file, { highWaterMark: 1 << 16 }),
      {
        source: file,
        mode: "training",
        config: parseConfig({
          id_column: "CLIENTNUM",
          label: { column: "Attrition_Flag", positive: "Attrited Customer" },
        }),
      },
      {
        schema(schema) {
          writer = new ArrowStreamWriter(schema, true);
          drained = (async () => {
            for await (const chunk of writer!.readable) bytes += (chunk as Uint8Array).length;
          })();
        },
        async batch(batch) {
          await writer!.write(batch);
        },
      },
    );
    (writer as InstanceType<typeof ArrowStreamWriter> | null)?.end();
    await drained;
    if (result.rejected !== 0 || bytes === 0) throw new Error(`unexpected: ${result.rejected} rejected`);
    rows = result.accepted;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { what, rows, seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 };
}

function measure(what: string, file: string): Measurement {
  const out = execFileSync(process.execPath, [...process.execArgv, SELF, "--child", what, file], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split("\n").pop()!) as Measurement;
}

async function generate(file: string, rows: number): Promise<void> {
  const { exampleRows } = await import("../components/example-bucket/index.js");
  await pipeline(Readable.from(exampleRows({ rows, seed: 42, labelled: true })), createWriteStream(file));
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function run(): Promise<void> {
  const rows = arg("--rows", 1_000_000);
  const big = arg("--big", 4_000_000);
  const dir = mkdtempSync(join(tmpdir(), "churn-bench-ingest-"));
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  try {
    const file = join(dir, "history.csv");
    await generate(file, rows);
    console.log(
      `file: ${fmt(rows)} rows, ${(statSync(file).size / 1e6).toFixed(0)} MB (BankChurners-shaped, churn init generator)`,
    );
    const results: Measurement[] = [];
    for (const what of ["papaparse", "udsv", "csvparser", "ingest"]) {
      const m = measure(what, file);
      if (m.rows !== rows) throw new Error(`${what} read ${m.rows} rows, expected ${rows}`);
      results.push(m);
    }
    const fastest = Math.max(...results.filter((r) => r.what !== "ingest").map((r) => r.rows / r.seconds));
    console.log("");
    console.log("what        rows/s      seconds  peak RSS");
    for (const m of results) {
      console.log(
        `${m.what.padEnd(10)} ${fmt(m.rows / m.seconds).padStart(9)}  ${m.seconds.toFixed(2).padStart(9)}  ${fmt(m.maxRssMB).padStart(5)} MB`,
      );
    }
    const ours = results.find((r) => r.what === "ingest")!;
    console.log(`\ningest / fastest bare parse: ${((ours.rows / ours.seconds / fastest) * 100).toFixed(0)}%`);
    if (big > 0) {
      const bigFile = join(dir, "big.csv");
      rmSync(file);
      await generate(bigFile, big);
      const m = measure("ingest", bigFile);
      console.log(
        `ingest at ${fmt(big)} rows: ${fmt(m.rows / m.seconds)} rows/s, peak RSS ${fmt(m.maxRssMB)} MB (at ${fmt(rows)} rows: ${fmt(ours.maxRssMB)} MB)`,
      );
    }
  } finally {
    if (!process.argv.includes("--keep")) rmSync(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) {
  const m = await child(process.argv[childAt + 1]!, process.argv[childAt + 2]!);
  console.log(JSON.stringify(m));
} else {
  await run();
}
