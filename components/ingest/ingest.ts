import { openText } from "../common/csv/decode.js";
import { InputError } from "../common/errors.js";
import { IngestSession, SNIFF_CHARS } from "./session.js";
import type { IngestOptions, IngestResult, IngestSinks } from "./types.js";

/**
 * The pure ingest implementation: bytes in, typed record batches, rejected
 * rows and a profile out, through callbacks. It knows nothing of storage,
 * runs or the CLI; the component entry and `churn validate` wire it up. The
 * parts: the session's phases (session.ts), the header check (header.ts), the
 * per-row converter (converter.ts) and the label values (label-values.ts).
 */

export { wrongPositiveMessage } from "./label-values.js";
export type { IngestConfig, IngestOptions, IngestResult, IngestSinks } from "./types.js";

/**
 * Ingest one CSV source. Throws InputError for a wholly unusable file; per-row
 * problems become rejected rows. The caller checks `rejectShareExceeded` after
 * it has written rejected.csv (see `assertRejectShare`).
 */
export async function ingest(
  input: AsyncIterable<Uint8Array>,
  options: IngestOptions,
  sinks: IngestSinks = {},
): Promise<IngestResult> {
  const session = new IngestSession(options);
  const text = openText(
    input,
    { source: options.source, encoding: options.config.ingest.encoding },
    session.info,
  );
  // The first SNIFF_CHARS characters are held until the delimiter is sniffed from them.
  let pending = "";
  let sawText = false;
  for await (const chunk of text) {
    if (session.started) session.push(chunk);
    else {
      pending += chunk;
      if (pending.length < SNIFF_CHARS) continue;
      sawText = pending.trim().length > 0;
      session.startParser(pending);
      pending = "";
    }
    await session.drain(sinks);
  }
  if (!session.started) {
    sawText = pending.trim().length > 0;
    session.startParser(pending);
  }
  session.end();
  return session.finish(sawText, sinks);
}

/** Throw the one-sentence InputError when too many rows were rejected (after rejected.csv is written). */
export function assertRejectShare(result: IngestResult, rejectedWhere?: string): void {
  if (!result.rejectShareExceeded) return;
  const share = ((100 * result.rejected) / result.rowsIn).toFixed(1);
  const first = result.firstRejects[0];
  const example = first ? `; first: line ${first.line}, column "${first.column}": ${first.reason}` : "";
  throw new InputError(
    `${result.source}: ${result.rejected} of ${result.rowsIn} rows rejected (${share}%), more than ingest.max_reject_share ${(100 * result.maxRejectShare).toFixed(1)}%${example}${rejectedWhere ? ` (all in ${rejectedWhere})` : ""}`,
    { details: { rowsIn: result.rowsIn, rejected: result.rejected, reasons: result.reasons } },
  );
}
