import { z } from "zod";
import type { Storage } from "../../components/common/storage/index.js";

/**
 * The few fields of stored documents the queries show, as zod views: each
 * reads only what a listing needs and lets the rest pass, so a document of
 * a newer release still lists. A missing, unreadable or mismatching document
 * reads as null (a listing shows "-", it does not fail).
 */

/** `models/<version>/evaluation.json` (the gate decision promote stores): its reason sentence. */
export const evaluationView = z.looseObject({ reason: z.string() });

/** An evaluate step's decision.json: which candidate it judged. */
export const decisionView = z.looseObject({ candidate_version: z.string() });

/** `output/<stem>/summary.json`: its row counts. */
export const summaryView = z.looseObject({ counts: z.record(z.string(), z.number()) });

/** Any JSON document (the evaluation report, a summary shown whole). */
export const anyJson = z.unknown();

/** Read a JSON object and validate it with a view; null when absent, not JSON or not of the view. */
export async function readView<T>(storage: Storage, name: string, view: z.ZodType<T>): Promise<T | null> {
  if (!(await storage.stat(name))) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(await storage.readText(name));
  } catch {
    return null;
  }
  const parsed = view.safeParse(raw);
  return parsed.success ? parsed.data : null;
}
