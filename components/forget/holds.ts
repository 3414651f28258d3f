import { arrowHoldsIds } from "./arrow.js";
import { type CsvIdRule, forgetCsv } from "./csv.js";
import type { ForgetIds } from "./ids.js";
import { jsonHoldsIds } from "./json.js";
import { kindOf, ruleFor, streamKind } from "./kinds.js";
import { countArrow, countCsv } from "./stream.js";

/** Does this content (decoded) still hold a forgotten id? */
export async function holdsIds(
  name: string,
  bytes: Buffer,
  ids: ForgetIds,
  rule: CsvIdRule,
): Promise<boolean> {
  const kind = kindOf(name, bytes);
  if (kind === "arrow") return arrowHoldsIds(bytes, ids).catch(() => ids.mentioned(bytes.toString("latin1")));
  const text = bytes.toString("latin1");
  if (kind === "csv") return forgetCsv(text, ids, ruleFor(name, rule)).rowsRemoved > 0 || ids.mentioned(text);
  if (kind === "json") return jsonHoldsIds(bytes.toString("utf8"), ids);
  return ids.mentioned(text);
}

/**
 * Does one stored version still hold a forgotten id? CSV and Arrow are
 * streamed; other objects are small and read whole. Returns the ids seen,
 * or null when it holds none.
 */
export async function holdsIdsInVersion(
  name: string,
  open: () => AsyncIterable<Uint8Array>,
  ids: ForgetIds,
  rule: CsvIdRule,
): Promise<Set<string> | null> {
  const kind = streamKind(name);
  if (kind === "csv") {
    const count = await countCsv(open(), ids, ruleFor(name, rule));
    return count.rowsRemoved > 0 ? count.found : null;
  }
  if (kind === "arrow") {
    try {
      const scan = await countArrow(open(), ids);
      return scan.rowsRemoved > 0 ? scan.found : null;
    } catch {
      // not an ingest intermediate: read it whole below
    }
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of open()) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (!(await holdsIds(name, bytes, ids, rule))) return null;
  const text = bytes.toString("latin1");
  return new Set(ids.mentions(text).map(([a, b]) => text.slice(a, b)));
}
