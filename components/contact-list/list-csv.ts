import { csvField, csvLine, guardFormula } from "../common/csv/write.js";
import { InputError } from "../common/errors.js";
import { isReasonColumn, REASON_CODES_COLUMN } from "../models/reasons.js";
import type { Listed } from "./rank.js";

/**
 * contact-list.csv (DESIGN): `rank, <id_column>, group, risk_tier,
 * churn_probability, value, expected_retained_value, reason_1..k,
 * reason_codes`, then the passthrough columns of scores.csv; header names
 * are the contract. Every field goes through the one CSV rule (csvField);
 * text values (reasons, codes, passthrough texts) also through the formula
 * guard when publish.formula_guard is on; the id and numbers never.
 */

/** Where scores.csv keeps what the contact list needs (from its header). */
export interface ScoresLayout {
  idColumn: string;
  probability: number;
  tier: number;
  /** reason_1..k, then reason_codes. */
  reasons: number[];
  /** Passthrough columns: every column after model_version. */
  passthrough: number[];
  header: readonly string[];
}

/** Reads the layout of a scores.csv header; an InputError naming the file when a column is missing. */
export function scoresLayout(header: readonly string[], source: string): ScoresLayout {
  const at = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new InputError(`${source}: the header has no column "${name}" (is it a scores.csv?)`);
    return i;
  };
  const version = at("model_version");
  const reasons = header.flatMap((name, i) => (isReasonColumn(name) ? [i] : []));
  reasons.push(at(REASON_CODES_COLUMN));
  return {
    idColumn: header[0]!,
    probability: at("churn_probability"),
    tier: at("risk_tier"),
    reasons,
    passthrough: header.flatMap((_, i) => (i > version ? [i] : [])),
    header,
  };
}

/** The header line of contact-list.csv. */
export function contactListHeader(layout: ScoresLayout): string {
  return csvLine([
    "rank",
    layout.idColumn,
    "group",
    "risk_tier",
    "churn_probability",
    "value",
    "expected_retained_value",
    ...layout.reasons.map((i) => layout.header[i]!),
    ...layout.passthrough.map((i) => layout.header[i]!),
  ]);
}

/**
 * Expected retained value as printed: money to two decimals with a value
 * column (empty for a customer without a value: there is no money to show),
 * else the probability it equals, as scores.csv prints it.
 */
function expectedText(row: Listed<readonly string[]>, layout: ScoresLayout, withValue: boolean): string {
  if (!withValue) return row.row[layout.probability]!;
  return row.value === null ? "" : row.expected.toFixed(2);
}

/** One line of contact-list.csv from a listed row whose `row` holds its scores.csv fields. */
export function contactListLine(
  row: Listed<readonly string[]>,
  layout: ScoresLayout,
  withValue: boolean,
  formulaGuard: boolean,
): string {
  const text = (value: string) => csvField(formulaGuard ? guardFormula(value) : value);
  const fields = [
    String(row.rank),
    csvField(row.id),
    row.group,
    row.row[layout.tier]!,
    row.row[layout.probability]!,
    row.value === null ? "" : String(row.value),
    expectedText(row, layout, withValue),
  ];
  for (const i of layout.reasons) fields.push(text(row.row[i] ?? ""));
  // guardFormula leaves numbers alone, so numeric passthrough values keep their text.
  for (const i of layout.passthrough) fields.push(text(row.row[i] ?? ""));
  return `${fields.join(",")}\n`;
}
