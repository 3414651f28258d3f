import { z } from "zod";

/**
 * What `GET /v1/customers/{id}` answers (issue 20 item 4): the customer's
 * row of the newest complete week, as published, for a contact-centre agent.
 * Only these fields: scores.csv never holds a pii column, and passthrough
 * columns are left out so the answer is the same contract in every bucket.
 * The console's "find a customer" box reads the same type (import type).
 */
export const customerAnswerSchema = z.strictObject({
  id: z.string(),
  /** The week's stem (`output/<stem>/`). */
  week: z.string(),
  churn_probability: z.number().min(0).max(1),
  risk_tier: z.string(),
  /** reason_1..k as published, empty ones left out (strongest first). */
  reasons: z.array(z.string()),
  reason_codes: z.string(),
  model_version: z.string().nullable(),
  /** On the week's contact list: its rank and group; null otherwise (or when the week has no list). */
  rank: z.int().min(1).nullable(),
  group: z.enum(["contact", "control"]).nullable(),
  /** P(alive) from the newest lifetime output at publish, when it holds the customer. */
  prob_alive: z.number().min(0).max(1).nullable(),
  published_at: z.string(),
});
export type CustomerAnswer = z.output<typeof customerAnswerSchema>;
