import { createHash } from "node:crypto";
import { type Readable, Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { objectRefSchema } from "../component/spec.js";
import { ChurnError, InputError, NotFoundError } from "../errors.js";
import { isOutputFileName, OUTPUT_FILES } from "../layout/index.js";
import type { ObjectInfo, Storage } from "../storage/types.js";
import { formatIssues, parseDocument } from "./parse.js";

/**
 * `_SUCCESS`, the manifest of a publish (DESIGN "Bucket layout"): which run
 * published which files of an output folder, each with its size, sha256 and
 * the generation the store gave it. Publish writes it last; a reader that
 * follows it gets a complete set from one publish, or is told a publish is in
 * progress, never a mix:
 *
 * - on a store that can read old generations (gs:// with versioning) each
 *   file is read at the listed generation, so a publish running meanwhile
 *   cannot change what the reader gets;
 * - elsewhere (file://, gs:// without versioning) the current object is read,
 *   and a size or sha256 other than the listed one means a newer publish is
 *   replacing the files.
 *
 * The schema, the builder and the readers live here together so the writer
 * (components/publish), `churn pull`, the console's weeks and later readers
 * (the customer lookup, contact lists) agree on one rule.
 */

/** One published file: a plain name inside the folder, never a marker or a path. */
export const manifestFileSchema = z.strictObject({
  name: z
    .string()
    .refine(isOutputFileName, "must be a file name inside the output folder (no /, no leading .)")
    .refine(
      (name) => name !== OUTPUT_FILES.success && name !== OUTPUT_FILES.failed,
      "cannot be one of the folder's markers (_SUCCESS, _FAILED)",
    ),
  size: z.int().min(0),
  sha256: objectRefSchema.shape.sha256,
  generation: z.string().min(1).describe("the object's generation as the store reported it when written"),
});
export type ManifestFile = z.output<typeof manifestFileSchema>;

export const manifestSchema = z.strictObject({
  run_id: z.string().min(1),
  /** The model of the set (summary.json's model_version: the churn or lifetime model); null when it names none. */
  model_version: z.string().min(1).nullable(),
  files: z
    .array(manifestFileSchema)
    .min(1)
    .superRefine((files, ctx) => {
      const seen = new Set<string>();
      files.forEach((file, index) => {
        if (seen.has(file.name))
          ctx.addIssue({ code: "custom", path: [index, "name"], message: `lists "${file.name}" twice` });
        seen.add(file.name);
      });
    }),
});
export type Manifest = z.output<typeof manifestSchema>;

/** A file as publish wrote it: its name in the folder, what the store reported, and its sha256. */
export interface PublishedFile {
  name: string;
  info: ObjectInfo;
  sha256: string;
}

/** The manifest of a publish (files sorted by name, so the same set always reads the same). */
export function buildManifest(runId: string, modelVersion: string | null, files: PublishedFile[]): Manifest {
  const manifest = {
    run_id: runId,
    model_version: modelVersion,
    files: files
      .map((f) => ({ name: f.name, size: f.info.size, sha256: f.sha256, generation: f.info.generation }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
  const parsed = manifestSchema.safeParse(manifest);
  if (!parsed.success)
    throw new ChurnError(`cannot build the publish manifest: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The stored text of a manifest. */
export function manifestText(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Parse `_SUCCESS`; an InputError names `where` and every problem (an older release wrote only the run id). */
export function parseManifest(text: string, where: string): Manifest {
  return parseDocument(manifestSchema, text, where);
}

/** What a reader finds in an output folder. */
export type PublishState =
  /** A manifest whose files are all there as listed (`failure`: a later run failed and left them alone). */
  | { status: "complete"; manifest: Manifest; failure: string | null }
  /** Files without a manifest, or files that no longer match it: a publish is replacing them. */
  | { status: "in_progress"; reason: string; failure: string | null }
  /** `_FAILED` and no manifest: the last run failed before anything was published. */
  | { status: "failed"; failure: string }
  /** Nothing in the folder. */
  | { status: "missing" }
  /** `_SUCCESS` is not a manifest (hand-edited, or written by an older release). */
  | { status: "invalid"; reason: string };

/** Why a downloaded file is not the listed one, or null when its size and sha256 match. */
export function fileProblem(file: ManifestFile, got: { size: number; sha256: string }): string | null {
  if (got.size !== file.size) return `${file.name} has ${got.size} bytes, the manifest lists ${file.size}`;
  if (got.sha256 !== file.sha256)
    return `${file.name} has sha256 ${got.sha256.slice(0, 12)}…, the manifest lists ${file.sha256.slice(0, 12)}…`;
  return null;
}

/** Why the current objects (a listing, no bytes read) are not the listed files; empty when they are. */
export function listingProblems(manifest: Manifest, objects: ReadonlyMap<string, ObjectInfo>): string[] {
  const problems: string[] = [];
  for (const file of manifest.files) {
    const info = objects.get(file.name);
    if (!info) problems.push(`${file.name} is listed in the manifest but absent`);
    else if (info.size !== file.size)
      problems.push(`${file.name} has ${info.size} bytes, the manifest lists ${file.size}`);
    else if (info.generation !== file.generation)
      problems.push(`${file.name} was replaced after the manifest was written`);
  }
  return problems;
}

/** The folder's objects by file name (direct children of `prefix`). */
function byFileName(prefix: string, listing: readonly ObjectInfo[]): Map<string, ObjectInfo> {
  const files = new Map<string, ObjectInfo>();
  for (const o of listing) {
    const name = o.name.slice(prefix.length);
    if (o.name.startsWith(prefix) && !name.includes("/")) files.set(name, o);
  }
  return files;
}

/** Text of an object, or null when it went away since it was listed. */
async function textOrNull(storage: Storage, name: string): Promise<string | null> {
  try {
    return await storage.readText(name, { gunzip: false });
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

type FolderRead =
  | Exclude<PublishState, { status: "complete" }>
  | { status: "listed"; manifest: Manifest; text: string; failure: string | null };

/** The folder's markers: its parsed manifest, or the state it is in without one. */
async function readFolder(
  storage: Storage,
  prefix: string,
  files: Map<string, ObjectInfo>,
): Promise<FolderRead> {
  const failure = files.has(OUTPUT_FILES.failed)
    ? ((await textOrNull(storage, `${prefix}${OUTPUT_FILES.failed}`))?.trim() ?? null)
    : null;
  const text = files.has(OUTPUT_FILES.success)
    ? await textOrNull(storage, `${prefix}${OUTPUT_FILES.success}`)
    : null;
  if (text === null) {
    if (failure !== null) return { status: "failed", failure };
    const others = [...files.keys()].filter((n) => n !== OUTPUT_FILES.success && n !== OUTPUT_FILES.failed);
    if (others.length === 0) return { status: "missing" };
    return {
      status: "in_progress",
      reason: `${prefix} holds ${others.length} file(s) and no ${OUTPUT_FILES.success} manifest yet`,
      failure: null,
    };
  }
  try {
    return {
      status: "listed",
      manifest: parseManifest(text, `${storage.uri}/${prefix}${OUTPUT_FILES.success}`),
      text,
      failure,
    };
  } catch (error) {
    if (error instanceof InputError) return { status: "invalid", reason: error.message };
    throw error;
  }
}

/**
 * The state of an output folder judged from its listing alone (no file is
 * read besides the markers): complete only when every listed file is there
 * with the listed size and generation. `listing` (the folder's objects, as
 * `storage.list` gives them) saves a list call when the caller has it.
 */
export async function readPublishState(
  storage: Storage,
  prefix: string,
  listing?: readonly ObjectInfo[],
): Promise<PublishState> {
  const files = byFileName(prefix, listing ?? (await storage.list(prefix, { delimiter: true })));
  const found = await readFolder(storage, prefix, files);
  if (found.status !== "listed") return found;
  const problems = listingProblems(found.manifest, files);
  if (problems.length > 0)
    return { status: "in_progress", reason: problems.join("; "), failure: found.failure };
  return { status: "complete", manifest: found.manifest, failure: found.failure };
}

/** A verified set: the complete state plus the manifest's stored text (to keep beside a copy). */
export type VerifiedSet =
  | (Extract<PublishState, { status: "complete" }> & { text: string })
  | Exclude<PublishState, { status: "complete" }>;

/** A pass-through stream that counts and hashes what flows through it. */
function digestStream(): { stream: Transform; digest: () => { size: number; sha256: string } } {
  const hash = createHash("sha256");
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, digest: () => ({ size, sha256: hash.digest("hex") }) };
}

/** The stored bytes of a listed file: at its generation where the store keeps old ones. */
function openListed(storage: Storage, prefix: string, file: ManifestFile): Readable {
  const name = `${prefix}${file.name}`;
  if (storage.createVersionReadStream)
    return storage.createVersionReadStream(name, file.generation, { gunzip: false });
  return storage.createReadStream(name, { gunzip: false });
}

/**
 * Read a complete publish: `_SUCCESS` first, then every listed file into the
 * writable `sink` gives for it, its size and sha256 checked as it streams.
 * Anything else comes back as the folder's state: `in_progress` when a file
 * is absent or does not match (what was written to the sinks then is not a
 * set: discard it), `failed`, `missing` or `invalid`. An aborted `signal`
 * stops the download with an AbortError.
 */
export async function readVerifiedSet(
  storage: Storage,
  prefix: string,
  sink: (file: ManifestFile) => Writable | Promise<Writable>,
  options: { signal?: AbortSignal } = {},
): Promise<VerifiedSet> {
  const files = byFileName(prefix, await storage.list(prefix, { delimiter: true }));
  const found = await readFolder(storage, prefix, files);
  if (found.status !== "listed") return found;
  const { manifest, text, failure } = found;
  const pinned = storage.createVersionReadStream !== undefined;
  // Without generation reads the current objects must be the listed ones: say so before reading any.
  const problems = pinned ? [] : listingProblems(manifest, files);
  if (problems.length > 0) return { status: "in_progress", reason: problems.join("; "), failure };
  for (const file of manifest.files) {
    const { stream, digest } = digestStream();
    try {
      await pipeline(openListed(storage, prefix, file), stream, await sink(file), { signal: options.signal });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      const reason = pinned
        ? `generation ${file.generation} of ${file.name} is gone (a newer publish replaced it, and the bucket keeps no old versions)`
        : `${file.name} is listed in the manifest but absent`;
      return { status: "in_progress", reason, failure };
    }
    const problem = fileProblem(file, digest());
    if (problem) return { status: "in_progress", reason: problem, failure };
  }
  return { status: "complete", manifest, failure, text };
}
