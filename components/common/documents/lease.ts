import { z } from "zod";
import { parseDocument } from "./parse.js";

/**
 * `runs/<run-id>/lease`: who runs a run and until when (epoch ms). Written
 * by the runner (pipelines/lease.ts); read by the runner and by forget,
 * which refuses while a lease is live.
 */
export const leaseSchema = z.strictObject({ holder: z.string(), expires: z.number(), acquired: z.number() });
export type LeaseRecord = z.infer<typeof leaseSchema>;

/** Parse a lease object's text; an InputError naming `where` when it is not one. */
export function parseLease(text: string, where: string): LeaseRecord {
  return parseDocument(leaseSchema, text, where, "lease");
}
