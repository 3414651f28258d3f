import { StringDecoder } from "node:string_decoder";
import { CsvParser } from "../common/csv/parse.js";
import { InputError } from "../common/errors.js";
import { isReasonColumn, REASON_CODES_COLUMN } from "../models/reasons.js";

/**
 * The top of contact-list.csv for the report's first section: the first
 * customers to call (group `contact`; control rows are not to be called, so
 * they are left out), with their reasons and passthrough columns. Reads only
 * as far as it needs, so a long list costs no more than a short one.
 */

/** How many customers the report's "whom to contact first" table shows. */
export const PREVIEW_ROWS = 20;

/** One customer of the preview. */
export interface PreviewRow {
  rank: number;
  id: string;
  tier: string;
  probability: number;
  /** value_column's value, or null without one. */
  value: number | null;
  reasons: string[];
  /** Passthrough values, in `ContactPreview.passthrough` order. */
  passthrough: string[];
}

export interface ContactPreview {
  idColumn: string;
  passthrough: string[];
  rows: PreviewRow[];
}

/** The first `limit` contact-group rows of a contact-list.csv stream. */
export async function readContactPreview(
  list: AsyncIterable<Uint8Array>,
  source: string,
  limit = PREVIEW_ROWS,
): Promise<ContactPreview> {
  let header: string[] | null = null;
  let at: Record<"rank" | "group" | "tier" | "probability" | "value", number> | null = null;
  let reasons: number[] = [];
  let passthrough: number[] = [];
  const rows: PreviewRow[] = [];
  const parser = new CsvParser(
    { delimiter: ",", source },
    (fields, line) => {
      if (!header) {
        header = [...fields];
        const find = (name: string) => {
          const i = fields.indexOf(name);
          if (i < 0)
            throw new InputError(`${source}: the header has no column "${name}" (is it a contact-list.csv?)`);
          return i;
        };
        at = {
          rank: find("rank"),
          group: find("group"),
          tier: find("risk_tier"),
          probability: find("churn_probability"),
          value: find("value"),
        };
        const codes = find(REASON_CODES_COLUMN);
        reasons = fields.flatMap((name, i) => (isReasonColumn(name) ? [i] : []));
        passthrough = fields.flatMap((_, i) => (i > codes ? [i] : []));
        return;
      }
      if (rows.length >= limit || (fields.length === 1 && fields[0] === "")) return;
      if (fields[at!.group] !== "contact") return;
      const probability = Number(fields[at!.probability]);
      if (!(probability >= 0 && probability <= 1))
        throw new InputError(`${source} line ${line}, column "churn_probability": not a probability`);
      const value = fields[at!.value] ?? "";
      rows.push({
        rank: Number(fields[at!.rank]),
        id: fields[1] ?? "",
        tier: fields[at!.tier] ?? "",
        probability,
        value: value === "" ? null : Number(value),
        reasons: reasons.map((i) => fields[i] ?? "").filter((r) => r !== ""),
        passthrough: passthrough.map((i) => fields[i] ?? ""),
      });
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  const decoder = new StringDecoder("utf8");
  for await (const chunk of list) {
    parser.push(decoder.write(Buffer.from(chunk)));
    // Leaving the loop closes the stream: the rest of the list is never read.
    if (rows.length >= limit) break;
  }
  if (rows.length < limit) {
    parser.push(decoder.end());
    parser.end();
  }
  if (!header) throw new InputError(`${source} is empty: it has no header`);
  const names: string[] = header;
  return { idColumn: names[1] ?? "id", passthrough: passthrough.map((i) => names[i]!), rows };
}
