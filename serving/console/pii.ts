import { CsvParser } from "../../components/common/csv/parse.js";
import { sniffDelimiter } from "../../components/common/csv/sniff.js";
import { csvField } from "../../components/common/csv/write.js";
import type { Storage } from "../../components/common/storage/index.js";

/**
 * Keeping pii columns (churn.yaml `pii`) out of everything the console shows.
 * Ingest already blanks them in rejected.csv and never profiles them; the
 * console applies the same rules again so a hand-edited or older output, or a
 * summary that names a pii column, still cannot put one on screen.
 */

/** What rejected rows show instead of a raw record whose pii fields cannot be located. */
export const WITHHELD = "(withheld: the row may contain pii columns)";

/** Parse CSV text into records (fields copied), with the given delimiter. */
export function parseCsv(text: string, delimiter = ",", source = "csv"): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser(
    { delimiter, source },
    (fields) => rows.push(fields.slice()),
    () => rows.push([]),
  );
  parser.push(text);
  parser.end();
  return rows;
}

/** The header fields and delimiter of the start of a CSV file. */
export function headerOf(sample: string, configured: string): { header: string[]; delimiter: string } {
  const text = sample.replace(/^\uFEFF/, "");
  const delimiter = configured === "auto" ? sniffDelimiter(text) : configured;
  const firstLine = text.split(/\r?\n/, 1)[0] ?? "";
  return { header: parseCsv(firstLine, delimiter)[0] ?? [], delimiter };
}

/** The first `limit` bytes of an object as text (gunzipped by extension). */
export async function readHead(storage: Storage, name: string, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = storage.createReadStream(name);
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A function that blanks pii fields of a raw record of the given file layout. */
export function rawBlanker(
  pii: readonly string[],
  layout: { header: string[]; delimiter: string } | null,
): (raw: string) => string {
  if (pii.length === 0) return (raw) => raw;
  if (!layout) return () => WITHHELD;
  const indexes = pii.map((name) => layout.header.indexOf(name)).filter((i) => i >= 0);
  if (indexes.length === 0) return (raw) => raw;
  return (raw) => {
    const fields = parseCsv(raw, layout.delimiter)[0];
    if (!fields || fields.length !== layout.header.length) return WITHHELD;
    for (const i of indexes) fields[i] = "";
    return fields.map((f) => csvField(f, layout.delimiter)).join(layout.delimiter);
  };
}

/**
 * A copy of a JSON value without anything keyed by a pii column: object keys
 * equal to a pii name, and array entries whose `column`/`feature`/`name` is one.
 */
export function withoutPii(value: unknown, pii: ReadonlySet<string>): unknown {
  if (pii.size === 0) return value;
  if (Array.isArray(value)) {
    return value
      .filter((entry) => {
        if (!entry || typeof entry !== "object") return true;
        const e = entry as Record<string, unknown>;
        return ![e.column, e.feature, e.name].some((v) => typeof v === "string" && pii.has(v));
      })
      .map((entry) => withoutPii(entry, pii));
  }
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([key]) => !pii.has(key))
        .map(([key, v]) => [key, withoutPii(v, pii)]),
    );
  }
  return value;
}
