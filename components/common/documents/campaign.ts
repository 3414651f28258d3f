import { z } from "zod";

/**
 * campaign.json: the week's campaign settings and totals, written by the
 * contact-list step and read by report (summary.json `campaign`, the
 * report's campaign section). Its own module because two components share
 * it and a component never imports another.
 */
export const campaignDocumentSchema = z.strictObject({
  week: z.string(),
  value_column: z.string().nullable(),
  eligible_tiers: z.array(z.string()),
  budget_contacts: z.int().nullable(),
  cost_per_contact: z.number(),
  save_rate: z.number(),
  control_share: z.number(),
  /** Rows that could be listed: an eligible tier and (with a value column) an expected gain. */
  eligible: z.int(),
  listed: z.int(),
  contacts: z.int(),
  control: z.int(),
  /** Sum of churn probabilities of the contact group. */
  expected_churners_reached: z.number(),
  /** Sum of expected retained value of the contact group's customers with a value (null without a value column). */
  expected_value_retained: z.number().nullable(),
  /**
   * Eligible customers with no value (value_column lifetime: not in the
   * latest lifetime output, or no lifetime value there), listed after those
   * with one; null for other value settings.
   */
  without_value: z.int().nullable(),
});
export type CampaignDocument = z.output<typeof campaignDocumentSchema>;
