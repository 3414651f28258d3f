import { z } from "zod";
import { CsvParser } from "../csv/parse.js";
import { rocAuc } from "../data/metrics.js";
import { parseDocument } from "../documents/parse.js";
import { InputError } from "../errors.js";
import {
  csvStemDirectlyUnder,
  LABELS_PREFIX,
  OUTPUT_FILES,
  REALISED_OBJECT,
  weekOutputObject,
  writtenBy,
} from "../layout/index.js";
import type { Storage } from "../storage/types.js";

/**
 * Realised performance: once `labels/<stem>.csv` (id, label) tells what
 * happened to the customers scored in week <stem>, join it with
 * `output/<stem>/scores.csv` and measure the model on real outcomes. Kept
 * across weeks in `monitoring/realised.json`.
 */

const realisedWeekSchema = z.strictObject({
  week: z.string(),
  labels_object: z.string(),
  labels_generation: z.string(),
  labelled: z.number(),
  /** Labelled ids found in the week's scores (the others were not scored that week). */
  matched: z.number(),
  positives: z.number(),
  roc_auc: z.number().nullable(),
  /** Predicted churner = high risk tier. */
  precision: z.number().nullable(),
  recall: z.number().nullable(),
  computed_at: z.string(),
});
export type RealisedWeek = z.output<typeof realisedWeekSchema>;

/** monitoring/realised.json. */
export const realisedHistorySchema = z.strictObject({ weeks: z.array(realisedWeekSchema) });
export type RealisedHistory = z.output<typeof realisedHistorySchema>;

function parseCsv(text: string, source: string): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser(
    { delimiter: ",", source },
    (fields) => {
      rows.push([...fields]);
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  parser.push(text);
  parser.end();
  return rows.filter((r) => !(r.length === 1 && r[0] === ""));
}

/** Whether a label cell means "churned": the training label's positive value, 1, true or yes. */
function isPositive(value: string, positive: string | null): boolean {
  const v = value.trim();
  return v === positive || /^(1|true|yes)$/i.test(v);
}

/**
 * A labels file (header, then id,label by position) as id -> 1 (churned) or 0.
 * A row without an id or a label is an error naming the file and line.
 */
export function parseLabels(
  labelsText: string,
  labelsObject: string,
  positive: string | null,
): Map<string, 0 | 1> {
  const labels = parseCsv(labelsText, labelsObject);
  if (labels.length === 0 || (labels[0]?.length ?? 0) < 2)
    throw new InputError(`${labelsObject}: expected a header and two columns (id, label)`);
  const outcome = new Map<string, 0 | 1>();
  labels.slice(1).forEach((row, i) => {
    const [id, label] = row;
    if (!id || label === undefined || label.trim() === "")
      throw new InputError(`${labelsObject} line ${i + 2}: id and label are required`);
    outcome.set(id.trim(), isPositive(label, positive) ? 1 : 0);
  });
  return outcome;
}

/** Metrics of one labelled week (labels: id,label with a header row; scores: output/<stem>/scores.csv). */
export function realisedMetrics(
  labelsText: string,
  labelsObject: string,
  scoresText: string,
  scoresObject: string,
  positive: string | null,
): Omit<RealisedWeek, "week" | "labels_generation" | "computed_at"> {
  const outcome = parseLabels(labelsText, labelsObject, positive);
  const scores = parseCsv(scoresText, scoresObject);
  const header = scores[0] ?? [];
  const pCol = header.indexOf("churn_probability");
  const tierCol = header.indexOf("risk_tier");
  if (pCol < 0 || tierCol < 0)
    throw new InputError(`${scoresObject}: header lacks churn_probability or risk_tier`);
  // scores.csv starts with the id column (DESIGN output contract).
  const y: number[] = [];
  const p: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const row of scores.slice(1)) {
    const label = outcome.get((row[0] ?? "").trim());
    if (label === undefined) continue;
    y.push(label);
    p.push(Number(row[pCol]));
    if (row[tierCol] === "high") label ? tp++ : fp++;
  }
  const positives = y.reduce((a, b) => a + b, 0);
  const auc = positives > 0 && positives < y.length ? rocAuc(y, p) : Number.NaN;
  const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 10_000) / 10_000 : null);
  return {
    labels_object: labelsObject,
    labelled: outcome.size,
    matched: y.length,
    positives,
    roc_auc: round(auc),
    precision: tp + fp > 0 ? round(tp / (tp + fp)) : null,
    recall: positives > 0 ? round(tp / positives) : null,
  };
}

/**
 * Updates monitoring/realised.json with every labels/<stem>.csv whose week was
 * published and which is new or changed since it was last measured. Returns
 * the whole history and the weeks measured now (labels that arrived).
 */
export async function updateRealised(
  storage: Storage,
  positive: string | null,
  now = new Date(),
): Promise<{ history: RealisedHistory; arrived: RealisedWeek[] }> {
  const previous =
    (await storage.stat(REALISED_OBJECT)) !== null
      ? parseDocument(realisedHistorySchema, await storage.readText(REALISED_OBJECT), REALISED_OBJECT)
      : { weeks: [] };
  const byWeek = new Map(previous.weeks.map((w) => [w.week, w]));
  const arrived: RealisedWeek[] = [];
  for (const info of await storage.list(LABELS_PREFIX)) {
    const week = csvStemDirectlyUnder(info.name, LABELS_PREFIX);
    if (week === null) continue;
    if (byWeek.get(week)?.labels_generation === info.generation) continue;
    const scoresObject = weekOutputObject(week, OUTPUT_FILES.scores);
    if ((await storage.stat(scoresObject)) === null) continue; // labels for a week never scored here
    const metrics = realisedMetrics(
      await storage.readText(info.name),
      info.name,
      await storage.readText(scoresObject),
      scoresObject,
      positive,
    );
    const entry: RealisedWeek = {
      week,
      ...metrics,
      labels_generation: info.generation,
      computed_at: now.toISOString(),
    };
    byWeek.set(week, entry);
    arrived.push(entry);
  }
  const history = { weeks: [...byWeek.values()].sort((a, b) => a.week.localeCompare(b.week)) };
  if (arrived.length > 0)
    await storage.write(REALISED_OBJECT, `${JSON.stringify(history, null, 2)}\n`, {
      contentType: "application/json",
      metadata: writtenBy("report"),
    });
  return { history, arrived };
}
