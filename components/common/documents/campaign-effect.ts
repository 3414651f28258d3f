import { z } from "zod";

/**
 * The measured effect of the weekly campaigns (issue 19 item 4): once
 * `labels/<stem>.csv` tells who churned, the contacted and control customers
 * of that week's published contact-list.csv are counted once into a small
 * per-week document (`monitoring/campaign/<stem>.json`), so accumulating over
 * weeks never re-reads an old list. The retrain-triggers step writes them and
 * passes the estimates (per week and accumulated) to the report as
 * campaign-effect.json. Its own module because the monitor (writer) and the
 * report (reader) share it and a component never imports another.
 */

/** Customers of one group of a week's list: how many have an outcome, how many of those churned. */
export const groupOutcomeSchema = z.strictObject({
  /** Customers of the group on the published list. */
  listed: z.int().min(0),
  /** Of them, customers that labels/<stem>.csv has an outcome for. */
  with_outcome: z.int().min(0),
  churned: z.int().min(0),
});
export type GroupOutcome = z.output<typeof groupOutcomeSchema>;

/** monitoring/campaign/<stem>.json: the counts of one labelled week. */
export const campaignWeekSchema = z.strictObject({
  week: z.string(),
  labels_object: z.string(),
  /** What was counted: a changed labels file or a re-published list is counted again. */
  labels_generation: z.string(),
  contact_list_object: z.string(),
  contact_list_generation: z.string(),
  contact: groupOutcomeSchema,
  control: groupOutcomeSchema,
  computed_at: z.string(),
});
export type CampaignWeek = z.output<typeof campaignWeekSchema>;

/** An estimate with its 95% interval (null bounds: not estimable, e.g. no churner at all). */
export const intervalSchema = z.strictObject({
  estimate: z.number().nullable(),
  lower: z.number().nullable(),
  upper: z.number().nullable(),
});
export type Interval = z.output<typeof intervalSchema>;

/** What the campaign changed, over one week or several. */
export const campaignEstimateSchema = z.strictObject({
  /** Customers with an outcome, and churn among them, per group. */
  contact: z.strictObject({ customers: z.int(), churned: z.int(), churn_rate: z.number().nullable() }),
  control: z.strictObject({ customers: z.int(), churned: z.int(), churn_rate: z.number().nullable() }),
  /** Control churn rate minus contacted churn rate: churn prevented per contacted customer. */
  absolute_reduction: intervalSchema,
  /** The absolute reduction as a share of the control churn rate (1 - contact rate / control rate). */
  relative_reduction: intervalSchema,
  /** Churners the calls prevented among the contacted customers with an outcome (absolute reduction x their number). */
  churners_prevented: z.number().nullable(),
});
export type CampaignEstimate = z.output<typeof campaignEstimateSchema>;

/** campaign-effect.json and summary.json `campaign_effect`: every labelled week and all of them together. */
export const campaignEffectSchema = z.strictObject({
  confidence: z.number(),
  weeks: z.array(z.strictObject({ week: z.string(), ...campaignEstimateSchema.shape })),
  /** All labelled weeks together (null before the first one). */
  accumulated: campaignEstimateSchema.extend({ weeks: z.int() }).nullable(),
  /** Weeks counted in this run (their labels arrived or changed). */
  arrived: z.array(z.string()),
});
export type CampaignEffect = z.output<typeof campaignEffectSchema>;
