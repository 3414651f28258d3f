import { StringDecoder } from "node:string_decoder";
import { z } from "zod";
import { readConfigInput } from "../common/component/inputs.js";
import { type ComponentContext, type ConfigSection, defineComponent } from "../common/component/spec.js";
import { type ChurnConfig, LIFETIME_VALUES } from "../common/config/schema.js";
import { CsvParser } from "../common/csv/parse.js";
import { type CampaignDocument, campaignDocumentSchema } from "../common/documents/campaign.js";
import {
  LIFETIME_VALUE_COLUMN,
  LIFETIME_VALUES_SETTING,
  missingLifetimeOutputMessage,
} from "../common/documents/lifetime-output.js";
import { ConfigError, InputError } from "../common/errors.js";
import { baseStem } from "../common/layout/index.js";
import { readRowBatches } from "../common/schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../common/schema/types.js";
import type { StepWarning } from "../common/warnings.js";
import { readLifetimeValues } from "./lifetime-values.js";
import { contactListHeader, contactListLine, type ScoresLayout, scoresLayout } from "./list-csv.js";
import {
  type CampaignSettings,
  campaignTotals,
  candidateCapacity,
  expectedRetainedValue,
  isEligible,
  selectContacts,
  TopCandidates,
} from "./rank.js";

/**
 * The contact-list component (between merge-scores and report): reads the
 * week's scores.csv once, in input order, and with churn.yaml
 * campaign.value_column also the value column of ingest-weekly's rows in
 * step (the rows are in the same order, so this is a merge, not a join:
 * memory stays flat), or with `value_column: lifetime` each customer's
 * lifetime value from the latest lifetime output, joined by id
 * (lifetime-values.ts), and writes contact-list.csv (rank.ts decides who is
 * on it) and campaign.json, the totals the report puts in summary.json and
 * report.html.
 */
export const contactListParameters = z.strictObject({
  /** The weekly object (run-time): its stem seeds the control group's draw. */
  trigger: z.string().nullable().default(null),
});
type ContactListParameters = z.output<typeof contactListParameters>;

/** churn.yaml campaign as rank.ts reads it. */
export function campaignSettings(config: Pick<ChurnConfig, "campaign">): CampaignSettings {
  const c = config.campaign;
  return {
    eligibleTiers: c.eligible_tiers,
    valueColumn: c.value_column,
    listWithoutValue: c.value_column === LIFETIME_VALUES,
    budgetContacts: c.budget_contacts,
    costPerContact: c.cost_per_contact,
    saveRate: c.save_rate,
    controlShare: c.control_share,
  };
}

/**
 * Values of one column of ingest's rows, read in step with scores.csv: the
 * scored rows are the accepted rows in order (a model server may have refused
 * some, so ids that are not asked for are skipped).
 */
class ValueCursor {
  private batch: RowBatch | null = null;
  private at = 0;

  constructor(
    private readonly batches: AsyncIterator<RowBatch>,
    private readonly column: string,
    private readonly source: string,
  ) {}

  async valueOf(id: string, line: number): Promise<number | null> {
    for (;;) {
      if (!this.batch || this.at >= this.batch.numRows) {
        const next = await this.batches.next();
        if (next.done)
          throw new InputError(
            `scores.csv line ${line}: id "${id}" is not among the rows of ${this.source} (were they scored from another file?)`,
          );
        this.batch = next.value;
        this.at = 0;
        continue;
      }
      const i = this.at++;
      if (this.batch.ids[i] !== id) continue;
      const v = (this.batch.columns[this.column] as Float64Array)[i]!;
      return Number.isNaN(v) ? null : v;
    }
  }
}

/** The value column must be a numeric column of the weekly rows (pii columns are never among them). */
function checkValueColumn(schema: DatasetSchema, column: string, source: string): void {
  const found = schema.columns.find((c) => c.name === column);
  if (!found || found.role === "pii" || found.role === "id" || found.role === "label")
    throw new ConfigError(
      `churn.yaml campaign.value_column "${column}" is not a column of the weekly rows (${source})`,
    );
  if (found.type !== "numeric")
    throw new ConfigError(
      `churn.yaml campaign.value_column "${column}" is a ${found.type} column; it must be numeric`,
    );
}

/** Each scored row's value: from the weekly rows in step, or from the lifetime values by id. */
type ValueOf = (id: string, line: number) => Promise<number | null> | number | null;

/**
 * Where each row's value comes from under the settings: nowhere (rank by
 * probability), the lifetime output's customers.csv, or a column of
 * ingest-weekly's rows.
 */
async function valueSource(
  ctx: ComponentContext<ContactListParameters, (typeof contactListReads)[number]>,
  valueColumn: string | null,
): Promise<ValueOf | null> {
  if (valueColumn === null) return null;
  if (valueColumn === LIFETIME_VALUES) {
    const ref = ctx.inputs.lifetime?.[0];
    if (!ref) throw new ConfigError(missingLifetimeOutputMessage(ctx.storage.uri, LIFETIME_VALUES_SETTING));
    const values = await readLifetimeValues(ctx.openInput(ref), ref.object);
    ctx.logger.info("contact-list: lifetime values read", { object: ref.object, customers: values.size });
    return (id) => values.get(id) ?? null;
  }
  const rowsRef = ctx.inputs.rows?.[0];
  if (!rowsRef)
    throw new ConfigError("churn.yaml campaign.value_column is set but the step was given no weekly rows");
  const batches = readRowBatches(ctx.openInput(rowsRef), (schema) =>
    checkValueColumn(schema, valueColumn, rowsRef.object),
  );
  const cursor = new ValueCursor(batches[Symbol.asyncIterator](), valueColumn, rowsRef.object);
  return (id, line) => cursor.valueOf(id, line);
}

/** The warning that eligible customers had no lifetime value (so they were ranked last), or none. */
function withoutValueWarning(
  withoutValue: number,
  eligible: number,
  source: string | undefined,
): StepWarning[] {
  if (withoutValue === 0) return [];
  return [
    {
      code: "no-lifetime-value",
      column: LIFETIME_VALUE_COLUMN,
      message: `${withoutValue} of ${eligible} eligible customers have no ${LIFETIME_VALUE_COLUMN} in ${source ?? "the lifetime output"}: they are ranked after those with one`,
    },
  ];
}

/** The churn.yaml sections contact-list reads: its cache key hashes only these (a change elsewhere reuses it). */
const contactListReads = ["campaign", "publish"] as const satisfies readonly ConfigSection[];

async function run(ctx: ComponentContext<ContactListParameters, (typeof contactListReads)[number]>) {
  const config = await readConfigInput(ctx);
  const settings = campaignSettings(config);
  const scoresRef = ctx.inputs.scores![0]!;
  const week = baseStem(ctx.parameters.trigger ?? scoresRef.object);
  const lookUpValue = await valueSource(ctx, settings.valueColumn);
  let withoutValue = 0;
  const top = new TopCandidates<readonly string[]>(candidateCapacity(settings));
  let layout: ScoresLayout | null = null;
  let pending: Array<{ fields: string[]; line: number }> = [];
  const parser = new CsvParser(
    { delimiter: ",", source: scoresRef.object },
    (fields, line) => {
      if (!layout) layout = scoresLayout(fields, scoresRef.object);
      else pending.push({ fields: [...fields], line });
    },
    (line, _field, reason) => {
      throw new InputError(`${scoresRef.object} line ${line}: ${reason}`);
    },
  );
  let seq = 0;
  // Rows are ranked a parsed chunk at a time, so the value lookups can await the Arrow reader.
  const rank = async () => {
    const rows = pending;
    pending = [];
    for (const { fields, line } of rows) {
      const l = layout!;
      const p = Number(fields[l.probability]);
      if (!(p >= 0 && p <= 1))
        throw new InputError(
          `${scoresRef.object} line ${line}, column "churn_probability": not a probability`,
        );
      const id = fields[0]!;
      const value = lookUpValue ? await lookUpValue(id, line) : null;
      const order = seq++;
      if (!isEligible(settings, fields[l.tier]!, p, value)) continue;
      if (value === null) withoutValue++;
      const expected = expectedRetainedValue(settings, p, value);
      top.offer({ probability: p, value, expected, seq: order, id, row: fields });
    }
  };
  const decoder = new StringDecoder("utf8");
  for await (const chunk of ctx.openInput(scoresRef)) {
    parser.push(decoder.write(Buffer.from(chunk)));
    await rank();
  }
  parser.push(decoder.end());
  parser.end();
  await rank();
  if (!layout) throw new InputError(`${scoresRef.object} is empty: it has no header`);
  const listed = selectContacts(top.ranked(), settings, week);
  const withValue = settings.valueColumn !== null;
  let text = contactListHeader(layout);
  for (const row of listed) text += contactListLine(row, layout, withValue, config.publish.formula_guard);
  await ctx.writeOutput("contact_list", text, { contentType: "text/csv" });
  const totals = campaignTotals(listed, top.offered, settings, withoutValue);
  const document: CampaignDocument = {
    week,
    value_column: settings.valueColumn,
    eligible_tiers: [...settings.eligibleTiers],
    budget_contacts: settings.budgetContacts,
    cost_per_contact: settings.costPerContact,
    save_rate: settings.saveRate,
    control_share: settings.controlShare,
    ...totals,
  };
  await ctx.writeOutput("campaign", `${JSON.stringify(document, null, 2)}\n`, {
    contentType: "application/json",
  });
  return {
    counts: { eligible: totals.eligible, contacts: totals.contacts, control: totals.control },
    summary: totals,
    warnings: settings.listWithoutValue
      ? withoutValueWarning(withoutValue, totals.eligible, ctx.inputs.lifetime?.[0]?.object)
      : [],
  };
}

/** The contact-list component spec. */
export const contactListComponent = defineComponent({
  name: "contact-list",
  reads: contactListReads,
  description:
    "rank the eligible customers by expected retained value into contact-list.csv, within the budget, with a control group",
  inputs: {
    scores: { type: "csv", description: "the merged scores.csv" },
    rows: {
      type: "arrow",
      description: "ingest-weekly's typed rows (campaign.value_column is read from them)",
      optional: true,
    },
    lifetime: {
      type: "csv",
      description: `the latest lifetime output's customers.csv (campaign.value_column: ${LIFETIME_VALUES})`,
      optional: true,
    },
    config: { type: "yaml", description: "churn.yaml (campaign, publish.formula_guard)" },
  },
  outputs: {
    contact_list: { type: "csv", file: "contact-list.csv", description: "whom to contact, ranked" },
    campaign: { type: "json", file: "campaign.json", description: "the campaign's settings and totals" },
  },
  parameters: contactListParameters,
  // The totals of campaign.json, declared once there.
  summary: campaignDocumentSchema.pick({
    eligible: true,
    listed: true,
    contacts: true,
    control: true,
    expected_churners_reached: true,
    expected_value_retained: true,
    without_value: true,
  }),
  runtime: ["trigger"],
  run,
});
