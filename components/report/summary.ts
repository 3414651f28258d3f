import { StringDecoder } from "node:string_decoder";
import { CsvParser } from "../common/csv/parse.js";
import { InputError } from "../common/errors.js";
import { parseReasonCodes, REASON_CODES_COLUMN } from "../models/reasons.js";

/**
 * The week's summary: what marketing and the run record need at a glance.
 * Invariant (DESIGN reliability bar): rows_in = scored + rejected.
 */
export interface WeekSummary {
  counts: { rows_in: number; scored: number; rejected: number; high: number; medium: number; low: number };
  model_version: string | null;
  /** Sum of calibrated probabilities per tier: how many churners to expect. */
  expected_churners: { high: number; medium: number; low: number; total: number };
  /** Share of customers per probability decile band [0,0.1), ... [0.9,1]. */
  probability_histogram: number[];
  /** Most common reason columns among rows that got reasons. */
  top_reasons: Array<{ column: string; count: number }>;
  /** The evaluate step's decision, in plain words. */
  model_decision: string | null;
}

export interface IngestCounts {
  in: number;
  accepted: number;
  rejected: number;
}

/** Records of rejected.csv lines without a header (quoted fields may hold line breaks). */
export function countCsvRecords(text: string, source: string): number {
  let records = 0;
  const parser = new CsvParser(
    { delimiter: ",", source },
    () => {
      records++;
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  parser.push(text);
  parser.end();
  return records;
}

/**
 * Stream scores.csv once and aggregate it (flat memory whatever the file size).
 * `ingest.refused`: rows a model server refused (score.mode server); every
 * accepted row is either scored or refused, else rows were lost.
 */
export async function summariseScores(
  scores: AsyncIterable<Uint8Array>,
  ingest: IngestCounts & { refused?: number },
  decision: string | null,
  source = "scores.csv",
  onProbability?: (p: number) => void,
): Promise<WeekSummary> {
  let header: string[] | null = null;
  let pCol = -1;
  let tierCol = -1;
  let versionCol = -1;
  let codesCol = -1;
  const tiers = { high: 0, medium: 0, low: 0 };
  const expected = { high: 0, medium: 0, low: 0 };
  const histogram = new Array<number>(10).fill(0);
  const reasons = new Map<string, number>();
  let version: string | null = null;
  let scored = 0;
  const parser = new CsvParser(
    { delimiter: ",", source },
    (fields, line) => {
      if (!header) {
        header = [...fields];
        pCol = header.indexOf("churn_probability");
        tierCol = header.indexOf("risk_tier");
        versionCol = header.indexOf("model_version");
        codesCol = header.indexOf(REASON_CODES_COLUMN);
        if (pCol < 0 || tierCol < 0)
          throw new InputError(`${source}: header lacks churn_probability or risk_tier`);
        return;
      }
      const p = Number(fields[pCol]);
      const tier = fields[tierCol] as keyof typeof tiers;
      if (!Number.isFinite(p) || !(tier in tiers))
        throw new InputError(`${source} line ${line}: not a scored row`);
      scored++;
      onProbability?.(p);
      tiers[tier]++;
      expected[tier] += p;
      histogram[Math.min(9, Math.floor(p * 10))]!++;
      if (versionCol >= 0) version ??= fields[versionCol] ?? null;
      // The machine form names the columns (the sentences carry friendly labels).
      const codes = codesCol >= 0 ? (fields[codesCol] ?? "") : "";
      for (const { column } of parseReasonCodes(codes)) reasons.set(column, (reasons.get(column) ?? 0) + 1);
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  const decoder = new StringDecoder("utf8");
  for await (const chunk of scores) parser.push(decoder.write(Buffer.from(chunk)));
  parser.push(decoder.end());
  parser.end();
  const refused = ingest.refused ?? 0;
  if (scored + refused !== ingest.accepted) {
    const also = refused > 0 ? ` (and the server refused ${refused})` : "";
    throw new InputError(
      `${source} has ${scored} rows${also} but ingest accepted ${ingest.accepted}: rows were lost`,
    );
  }
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    counts: { rows_in: ingest.in, scored, rejected: ingest.rejected + refused, ...tiers },
    model_version: version,
    expected_churners: {
      high: round(expected.high),
      medium: round(expected.medium),
      low: round(expected.low),
      total: round(expected.high + expected.medium + expected.low),
    },
    probability_histogram: histogram.map((n) => (scored ? n / scored : 0)),
    top_reasons: [...reasons.entries()]
      .map(([column, count]) => ({ column, count }))
      .sort((a, b) => b.count - a.count || a.column.localeCompare(b.column))
      .slice(0, 10),
    model_decision: decision,
  };
}
