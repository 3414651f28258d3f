import { openText } from "../common/csv/decode.js";
import { CsvParser } from "../common/csv/parse.js";
import { sniffDelimiter } from "../common/csv/sniff.js";
import { csvField } from "../common/csv/write.js";
import { InputError } from "../common/errors.js";
import { parseLabels } from "../common/monitoring/realised.js";

/**
 * The feedback loop's data side (churn.yaml `retrain.on_labels`): the rows of
 * scored weeks (`weekly/<stem>.csv`) whose outcome arrived in
 * `labels/<stem>.csv` become extra training rows, with the label column set
 * from the labels file. Rows without a label are dropped.
 *
 * Precedence when an id appears more than once: a customer already in
 * `input/` keeps its history row (the data engineers' curated history is the
 * source of truth, and its rows and line numbers stay as they are), and among
 * labelled weeks the later week (by stem, e.g. 2026-W49 after 2026-W48) wins.
 * Both kinds of dropped rows are counted, so a reader sees why the history
 * grew by less than the number of labels.
 */

const LABEL = -2;

/** One CSV record with its 1-based line number. */
interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * Streams the records of a CSV source (gzip and encoding sniffed, delimiter
 * sniffed unless given). Unreadable records (quote errors) are yielded with
 * `fields` empty so the caller can count them.
 */
export async function* csvRecords(
  input: AsyncIterable<Uint8Array>,
  source: string,
  options: {
    delimiter?: string;
    encoding?: "auto" | "utf-8" | "utf-16le" | "utf-16be" | "windows-1252";
  } = {},
): AsyncGenerator<CsvRecord & { delimiter: string }> {
  let parser: CsvParser | null = null;
  let delimiter = options.delimiter && options.delimiter !== "auto" ? options.delimiter : ",";
  let pending = "";
  const out: CsvRecord[] = [];
  const start = (sample: string): CsvParser => {
    if (!options.delimiter || options.delimiter === "auto") delimiter = sniffDelimiter(sample);
    return new CsvParser(
      { delimiter, source },
      (fields, line) => {
        if (fields.length === 1 && fields[0] === "") return;
        out.push({ fields: fields.slice(), line });
      },
      (line) => {
        out.push({ fields: [], line });
      },
    );
  };
  for await (const chunk of openText(input, { source, encoding: options.encoding ?? "auto" })) {
    if (!parser) {
      pending += chunk;
      if (pending.length < 64 * 1024) continue;
      parser = start(pending);
      parser.push(pending);
      pending = "";
    } else {
      parser.push(chunk);
    }
    while (out.length > 0) yield { ...out.shift()!, delimiter };
  }
  if (!parser) {
    parser = start(pending);
    parser.push(pending);
  }
  parser.end();
  while (out.length > 0) yield { ...out.shift()!, delimiter };
}

/** What the history (`input/`) contributes to the join: its ids and its negative label value. */
export interface HistoryIds {
  ids: Set<string>;
  /** The first label value in the history that is not the positive one (the negative class as written there). */
  negative: string | null;
}

/** Collect the ids (and the negative label value) of one history file into `into`. */
export async function readHistoryIds(
  input: AsyncIterable<Uint8Array>,
  source: string,
  idColumn: string,
  label: { column: string; positive: string },
  into: HistoryIds,
  csv: { delimiter?: string; encoding?: "auto" | "utf-8" | "utf-16le" | "utf-16be" | "windows-1252" } = {},
): Promise<void> {
  let idIndex = -1;
  let labelIndex = -1;
  let header = true;
  for await (const record of csvRecords(input, source, csv)) {
    if (header) {
      if (record.fields.every((f) => f.trim() === "")) continue;
      idIndex = record.fields.indexOf(idColumn);
      labelIndex = record.fields.indexOf(label.column);
      if (idIndex < 0) throw new InputError(`${source}, line 1: no id column "${idColumn}" in the header`);
      header = false;
      continue;
    }
    const id = record.fields[idIndex];
    if (id !== undefined && id.trim() !== "") into.ids.add(id);
    const value = labelIndex >= 0 ? record.fields[labelIndex] : undefined;
    if (into.negative === null && value !== undefined && value.trim() !== "" && value !== label.positive)
      into.negative = value;
  }
}

/** One labelled week: its labels object and the matching weekly file. */
export interface LabelledWeek {
  stem: string;
  labelsObject: string;
  labelsText: string;
  weeklyObject: string;
  weekly: AsyncIterable<Uint8Array>;
}

/** Per-week counts of the join (what output.json and run.json show). */
export interface JoinedWeek {
  week: string;
  labels: string;
  weekly: string;
  labelled: number;
  /** Weekly rows that got a label and joined the training history. */
  joined: number;
  /** Weekly rows with no entry in the labels file. */
  unlabelled: number;
  /** Labelled rows whose id is already in input/ (the history row is kept). */
  in_history: number;
  /** Labelled rows whose id a later labelled week also holds (the later one is kept). */
  superseded: number;
  /** Records the CSV parser could not split (quote errors). */
  unreadable: number;
}

export interface JoinResult {
  /** The joined rows as CSV text (header first), or null when no row joined. */
  csv: string | null;
  weeks: JoinedWeek[];
  rows: number;
}

/**
 * Join labelled weeks into one CSV of training rows: the header of the first
 * (latest) week plus the label column, comma-separated; later weeks' columns
 * are matched by name (a column a week lacks stays empty, so ingest rejects
 * the row and says why).
 */
export async function joinLabelledWeeks(
  weeks: LabelledWeek[],
  options: {
    idColumn: string;
    label: { column: string; positive: string };
    history: HistoryIds;
    /** Columns written empty (churn.yaml pii): personal data never reaches the run's intermediates. */
    blank?: readonly string[];
    csv?: { delimiter?: string; encoding?: "auto" | "utf-8" | "utf-16le" | "utf-16be" | "windows-1252" };
  },
): Promise<JoinResult> {
  const { idColumn, label, history } = options;
  const blank = new Set(options.blank ?? []);
  const negative = history.negative ?? (label.positive === "0" ? "1" : "0");
  const seen = new Set<string>();
  const lines: string[] = [];
  let header: string[] | null = null;
  const result: JoinedWeek[] = [];
  // Latest week first, so its rows win over earlier weeks of the same customers.
  const ordered = [...weeks].sort((a, b) => b.stem.localeCompare(a.stem));
  for (const week of ordered) {
    const labels = parseLabels(week.labelsText, week.labelsObject, label.positive);
    const counts: JoinedWeek = {
      week: week.stem,
      labels: week.labelsObject,
      weekly: week.weeklyObject,
      labelled: labels.size,
      joined: 0,
      unlabelled: 0,
      in_history: 0,
      superseded: 0,
      unreadable: 0,
    };
    let columns: string[] | null = null;
    let idIndex = -1;
    // Position in this week's record of each output column (LABEL: set from labels; -1: absent).
    let positions: number[] = [];
    for await (const record of csvRecords(week.weekly, week.weeklyObject, options.csv)) {
      if (!columns) {
        if (record.fields.every((f) => f.trim() === "")) continue;
        columns = record.fields;
        idIndex = columns.indexOf(idColumn);
        if (idIndex < 0)
          throw new InputError(
            `${week.weeklyObject}, line ${record.line}: no id column "${idColumn}" in the header`,
          );
        header ??= columns.includes(label.column) ? columns : [...columns, label.column];
        positions = header.map((name) =>
          name === label.column ? LABEL : blank.has(name) ? -1 : columns!.indexOf(name),
        );
        continue;
      }
      if (record.fields.length === 0) {
        counts.unreadable++;
        continue;
      }
      const id = record.fields[idIndex] ?? "";
      const outcome = labels.get(id.trim());
      if (outcome === undefined) counts.unlabelled++;
      else if (history.ids.has(id)) counts.in_history++;
      else if (seen.has(id)) counts.superseded++;
      else {
        seen.add(id);
        counts.joined++;
        const value = outcome === 1 ? label.positive : negative;
        lines.push(
          positions.map((at) => csvField(at === LABEL ? value : (record.fields[at] ?? ""))).join(","),
        );
      }
    }
    result.push(counts);
  }
  result.sort((a, b) => a.week.localeCompare(b.week));
  return {
    csv:
      lines.length > 0 && header
        ? `${header.map((h) => csvField(h)).join(",")}\n${lines.join("\n")}\n`
        : null,
    weeks: result,
    rows: lines.length,
  };
}
