import type { ChurnConfig } from "../common/config/schema.js";
import { openText } from "../common/csv/decode.js";
import { CsvParser } from "../common/csv/parse.js";
import { REJECTED_HEADER, type Reject, reasonKind } from "../common/csv/rejected.js";
import { csvField } from "../common/csv/write.js";
import { InputError } from "../common/errors.js";
import { DATE_FORMATS, parseDate, parseNumber } from "../common/schema/values.js";
import { dayFromDateString, dayFromEpochMs, SummaryAccumulator } from "./summary.js";

/**
 * Reading a purchase log (churn.yaml `transactions`) into the per-customer
 * summary the lifetime models need. Rows are validated like any input: a row
 * with no customer id, a date that does not parse or a value that is not a
 * number goes to rejected.csv (line, column, reason, raw) and is left out.
 */

export type TransactionsConfig = Pick<ChurnConfig, "transactions" | "ingest">;

/** A day-number parser for `transactions.time_format`. */
export function dayParser(format: string): (text: string) => number | null {
  if (format === "auto" || format === "YYYYMMDD") {
    // YYYYMMDD (raw CDNOW logs), YYYY-MM-DD, and either with a time part (ignored).
    return (text) => dayFromDateString(text);
  }
  if (!DATE_FORMATS.some((f) => f.name === format)) {
    const known = ["auto", "YYYYMMDD", ...DATE_FORMATS.map((f) => f.name)].join(", ");
    throw new InputError(`transactions.time_format "${format}" is not one of: ${known}`);
  }
  return (text) => {
    const ms = parseDate(text, format);
    return Number.isNaN(ms) ? null : dayFromEpochMs(ms);
  };
}

/**
 * Whitespace-separated logs (the raw CDNOW files: leading spaces, runs of
 * spaces between fields) are turned into tab-separated text line by line and
 * then read by the one CSV parser, so line numbers, CRLF handling and raw rows
 * for rejected.csv come from the same code as every other input. Only
 * characters inside a line change, never line breaks, so line numbers are
 * the file's own. Quoting is not a thing in such files: a quote is kept as data.
 * The price: rejected.csv shows a bad row of such a file with its fields
 * tab-separated rather than with the original runs of spaces.
 */
export async function* whitespaceToTabs(text: AsyncIterable<string>): AsyncGenerator<string> {
  let carry = "";
  const convert = (lines: string): string =>
    lines.replace(/[^\S\r\n]+/g, "\t").replace(/^\t|\t(?=\r?$)/gm, "");
  for await (const chunk of text) {
    const all = carry + chunk;
    // A run of spaces may continue into the next chunk: keep the last partial line back.
    const cut = all.lastIndexOf("\n") + 1;
    carry = all.slice(cut);
    if (cut > 0) yield convert(all.slice(0, cut));
  }
  if (carry) yield convert(carry);
}

export interface TransactionsSinks {
  /** Text for rejected.csv; the header comes with the first call. */
  rejected?(text: string): void;
}

export interface TransactionsResult {
  source: string;
  rowsIn: number;
  accepted: number;
  rejected: number;
  /** Accepted rows dated after observation_end (left out of the summary). */
  afterEnd: number;
  reasons: Record<string, number>;
  firstRejects: Reject[];
  /** The columns the file was read with (header or format.columns). */
  columns: string[];
  /** Day number used as the end of observation (configured or the last purchase day). */
  observationEnd: number;
  accumulator: SummaryAccumulator;
  maxRejectShare: number;
  rejectShareExceeded: boolean;
}

/** Read, validate and summarise one transactions file. */
export async function readTransactions(
  bytes: AsyncIterable<Uint8Array>,
  source: string,
  config: TransactionsConfig,
  sinks: TransactionsSinks = {},
): Promise<TransactionsResult> {
  const t = config.transactions;
  const parseDay = dayParser(t.time_format);
  let observationEnd: number | null = null;
  if (t.observation_end !== null) {
    observationEnd = parseDay(t.observation_end);
    if (observationEnd === null)
      throw new InputError(
        `transactions.observation_end "${t.observation_end}" is not a date in format ${t.time_format}`,
      );
  }
  const acc = new SummaryAccumulator({ observationEnd });
  const whitespace = t.format.delimiter === "whitespace";
  const delimiter = whitespace ? "\t" : t.format.delimiter;
  const missing = new Set(config.ingest.missing_values);

  let header: string[] | null = t.format.columns;
  let skipHeader = t.format.header;
  let idIndex = -1;
  let timeIndex = -1;
  let valueIndex = -1;
  const bindColumns = (names: string[], where: string) => {
    const find = (name: string | null, key: string): number => {
      if (name === null) return -1;
      const at = names.indexOf(name);
      if (at < 0)
        throw new InputError(
          `${source}: ${where} has no column "${name}" (columns: ${names.join(", ")}); set transactions.${key} or transactions.format.columns`,
        );
      return at;
    };
    idIndex = find(t.customer_column, "customer_column");
    timeIndex = find(t.time_column, "time_column");
    valueIndex = find(t.value_column, "value_column");
  };
  if (header) bindColumns(header, "transactions.format.columns");

  let rowsIn = 0;
  let rejected = 0;
  let lastDay = Number.NEGATIVE_INFINITY;
  const reasons: Record<string, number> = {};
  const firstRejects: Reject[] = [];
  let pending: string[] = [];
  const reject = (line: number, column: string, reason: string, raw: string) => {
    rowsIn++;
    rejected++;
    const kind = reasonKind(reason);
    reasons[kind] = (reasons[kind] ?? 0) + 1;
    if (firstRejects.length < 20) firstRejects.push({ line, column, reason });
    pending.push(`${line},${csvField(column)},${csvField(reason)},${csvField(raw)}\n`);
  };
  const flush = () => {
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    sinks.rejected?.(text);
  };
  sinks.rejected?.(REJECTED_HEADER);

  const parser: CsvParser = new CsvParser(
    { delimiter, source },
    (fields, line) => {
      if (skipHeader) {
        skipHeader = false;
        if (!header) {
          header = fields.map((f) => f.trim());
          bindColumns(header, "the header line");
        }
        return;
      }
      const names = header as string[];
      if (fields.length !== names.length) {
        reject(
          line,
          names[Math.min(fields.length, names.length - 1)] ?? "(row)",
          `wrong number of fields: ${fields.length}, expected ${names.length}`,
          parser.raw(),
        );
        return;
      }
      const id = fields[idIndex]!.trim();
      if (id === "" || missing.has(id)) {
        reject(line, names[idIndex]!, "missing customer id", parser.raw());
        return;
      }
      const timeText = fields[timeIndex]!.trim();
      const day = parseDay(timeText);
      if (day === null) {
        reject(
          line,
          names[timeIndex]!,
          `not a date in format ${t.time_format}: "${timeText.slice(0, 40)}"`,
          parser.raw(),
        );
        return;
      }
      let value = 0;
      if (valueIndex >= 0) {
        const valueText = fields[valueIndex]!.trim();
        value = parseNumber(valueText);
        if (!Number.isFinite(value)) {
          reject(
            line,
            names[valueIndex]!,
            valueText === "" || missing.has(valueText)
              ? "missing value"
              : `not a number: "${valueText.slice(0, 40)}"`,
            parser.raw(),
          );
          return;
        }
      }
      rowsIn++;
      if (day > lastDay) lastDay = day;
      acc.add(id, day, value);
    },
    (line, field, reason) => reject(line, header?.[field] ?? `(field ${field + 1})`, reason, parser.raw()),
  );

  let text = openText(bytes, { source, encoding: config.ingest.encoding });
  if (whitespace) text = whitespaceToTabs(text);
  for await (const chunk of text) {
    parser.push(chunk);
    flush();
  }
  parser.end();
  flush();

  if (header === null || rowsIn === 0)
    throw new InputError(`${source} has no transaction rows: expected a purchase log`);
  const accepted = rowsIn - rejected;
  if (acc.size === 0) {
    const first = firstRejects[0];
    throw new InputError(
      accepted === 0
        ? `${source}: none of its ${rowsIn} rows could be read${first ? `; first: line ${first.line}, column "${first.column}": ${first.reason}` : ""}`
        : `${source}: every purchase is after transactions.observation_end ${t.observation_end}`,
    );
  }
  const maxRejectShare = config.ingest.max_reject_share;
  return {
    source,
    rowsIn,
    accepted,
    rejected,
    afterEnd: acc.afterEnd,
    reasons,
    firstRejects,
    columns: header,
    observationEnd: observationEnd ?? lastDay,
    accumulator: acc,
    maxRejectShare,
    rejectShareExceeded: rejected > maxRejectShare * rowsIn,
  };
}

/** The one-sentence InputError when too many rows were rejected (call after rejected.csv is written). */
export function assertTransactionsRejectShare(result: TransactionsResult, rejectedWhere: string): void {
  if (!result.rejectShareExceeded) return;
  const share = ((100 * result.rejected) / result.rowsIn).toFixed(1);
  const first = result.firstRejects[0];
  const example = first ? `; first: line ${first.line}, column "${first.column}": ${first.reason}` : "";
  throw new InputError(
    `${result.source}: ${result.rejected} of ${result.rowsIn} rows rejected (${share}%), more than ingest.max_reject_share ${(100 * result.maxRejectShare).toFixed(1)}%${example} (all in ${rejectedWhere})`,
    { details: { rowsIn: result.rowsIn, rejected: result.rejected, reasons: result.reasons } },
  );
}
