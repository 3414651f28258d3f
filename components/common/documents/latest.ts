import { z } from "zod";
import { ConflictError } from "../errors.js";
import { LATEST_OBJECT, OUTPUT_FILES, weekOutputPrefix, writtenBy } from "../layout/index.js";
import { isStem } from "../layout/stem.js";
import type { Storage } from "../storage/types.js";
import { parseDocument } from "./parse.js";

/**
 * `output/_latest.json`: the newest complete week, for the customer lookup.
 * "Newest" is DESIGN's rule for weekly files: the one with the latest upload
 * time. Publish moves the pointer after `_SUCCESS`, and only to a week whose
 * weekly file was uploaded no earlier than the one it points at, so a
 * `--force` rerun of an old week republishes that week without moving it
 * (a rerun of the pointed week rewrites it, so readers reload its new index).
 */
export const latestSchema = z.strictObject({
  stem: z.string().refine(isStem, "must be a valid stem"),
  /** The week's folder, `output/<stem>/`. */
  prefix: z.string().regex(/^output\/[^/]+\/$/),
  /** The weekly file of the week and its upload time (what "newest" compares). */
  weekly: z.string().min(1),
  uploaded_at: z.iso.datetime(),
  run_id: z.string().min(1),
  published_at: z.iso.datetime(),
  /** The index file in the folder, listed in its `_SUCCESS` manifest. */
  index: z.literal(OUTPUT_FILES.lookupIndex),
});
export type LatestPointer = z.output<typeof latestSchema>;

/** Parse `_latest.json`; an InputError names the object and every problem. */
export function parseLatest(text: string, where: string): LatestPointer {
  return parseDocument(latestSchema, text, where);
}

/** The pointer for a week just published. */
export function latestPointer(
  stem: string,
  weekly: string,
  uploadedAt: Date,
  runId: string,
  publishedAt: Date,
): LatestPointer {
  return latestSchema.parse({
    stem,
    prefix: weekOutputPrefix(stem),
    weekly,
    uploaded_at: uploadedAt.toISOString(),
    run_id: runId,
    published_at: publishedAt.toISOString(),
    index: OUTPUT_FILES.lookupIndex,
  });
}

/** Whether a publish of `next` moves a pointer at `current` (DESIGN's newest: the latest upload). */
export function movesPointer(current: LatestPointer | null, next: LatestPointer): boolean {
  if (current === null || current.stem === next.stem) return true;
  return Date.parse(next.uploaded_at) >= Date.parse(current.uploaded_at);
}

/**
 * Point `output/_latest.json` at `next` unless it already points at a newer
 * week. A conditional write on the generation read, retried when another
 * publish moved the pointer meanwhile, so two weeks publishing at once end
 * with the newer one. A pointer that does not parse (hand-edited) is
 * replaced. Returns whether the pointer now names `next`.
 */
export async function updateLatest(storage: Storage, next: LatestPointer): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const info = await storage.stat(LATEST_OBJECT);
    let current: LatestPointer | null = null;
    if (info) {
      try {
        current = parseLatest(await storage.readText(LATEST_OBJECT), `${storage.uri}/${LATEST_OBJECT}`);
      } catch {
        current = null;
      }
    }
    if (!movesPointer(current, next)) return false;
    try {
      await storage.write(LATEST_OBJECT, `${JSON.stringify(next, null, 2)}\n`, {
        metadata: writtenBy("publish"),
        contentType: "application/json",
        ifGenerationMatch: info ? info.generation : 0,
      });
      return true;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
  }
  throw new ConflictError(`${LATEST_OBJECT} kept changing while this publish tried to move it; run again`);
}
