import { runInProcess } from "../../cli/main.js";
import { type ChurnConfigInput, parseConfig } from "../../components/common/config/index.js";
import { ArrowStreamWriter, readRowBatches } from "../../components/common/schema/arrow.js";
import type { RowBatch } from "../../components/common/schema/types.js";
import { type IngestOptions, type IngestResult, ingest } from "../../components/ingest/ingest.js";

/** Ingest bytes; returns the result, the rejected.csv text and the batches read back through Arrow. */
export async function ingestBytes(
  bytes: Uint8Array | Uint8Array[],
  config: ChurnConfigInput,
  extra: Partial<IngestOptions> = {},
): Promise<{ result: IngestResult; rejected: string; batches: RowBatch[] }> {
  const chunks = Array.isArray(bytes) ? bytes : [bytes];
  let rejected = "";
  const parts: Uint8Array[] = [];
  let writer: ArrowStreamWriter | null = null;
  let collecting: Promise<void> | null = null;
  const mode = extra.mode ?? (config.label ? "training" : "scoring");
  const result = await ingest(
    (async function* () {
      for (const c of chunks) yield c;
    })(),
    { source: "test.csv", config: parseConfig(config), mode, ...extra },
    {
      schema(schema) {
        writer = new ArrowStreamWriter(schema, mode === "training");
        collecting = (async () => {
          for await (const chunk of writer!.readable) parts.push(chunk as Uint8Array);
        })();
      },
      async batch(batch) {
        await writer!.write(batch);
      },
      rejected(text) {
        rejected += text;
      },
    },
  );
  (writer as ArrowStreamWriter | null)?.end();
  await collecting;
  const batches: RowBatch[] = [];
  for await (const b of readRowBatches(
    (async function* () {
      yield Buffer.concat(parts);
    })(),
  ))
    batches.push(b);
  return { result, rejected, batches };
}

/** All values of one column over batches. */
export function columnValues(batches: RowBatch[], name: string): Array<number | string | null> {
  return batches.flatMap((b) =>
    Array.from(b.columns[name] as ArrayLike<number | string | null>).slice(0, b.numRows),
  );
}

/** Run the real CLI in-process; returns exit code and captured output. */
export const runCli = (argv: string[], cwd = process.cwd()) => runInProcess(argv, cwd);
