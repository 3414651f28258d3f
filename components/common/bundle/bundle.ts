import { z } from "zod";
import { MODEL_FAMILIES } from "../config/schema.js";
import { parseDocument } from "../documents/parse.js";
import { InputError, NotFoundError } from "../errors.js";
import { canonicalJson, sha256Hex } from "../hash.js";
import {
  bundleObject,
  isModelVersion,
  MODELS_PREFIX,
  modelSideObject,
  modelVersionOf,
  versionOfBundleObject,
  writtenBy,
} from "../layout/index.js";
import type { Storage } from "../storage/index.js";

/**
 * A model bundle: everything scoring needs, in one JSON document, so the
 * batch scorer, the server and a Job in another pod compute the same numbers
 * from the same stored weights (DESIGN identity rule). The version is a
 * content hash of the document, so equal bundles have equal versions and
 * `model_version` in scores.csv says exactly which weights produced a row.
 *
 * Layout: `models/<version>/bundle.json` is written last; its presence means
 * the bundle is complete. Side files (evaluation report, ...) come first.
 */
export const BUNDLE_FORMAT = "churn-bundle/1";

/** What a bundle's model can be: one of the families, or a blend of them (models/blend.ts). */
export const STORED_MODEL_FAMILIES = [...MODEL_FAMILIES, "blend"] as const;

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  /** The DatasetSchema recorded at training time (weekly files are read with it). */
  schema: z.record(z.string(), z.unknown()),
  /** The fitted feature transform. */
  transform: z.record(z.string(), z.unknown()),
  /** The selected model: family and its stored weights (a blend holds its members'). */
  model: z.object({ family: z.enum(STORED_MODEL_FAMILIES) }).passthrough(),
  /** Probability calibration fitted on held-out predictions. */
  calibration: z.record(z.string(), z.unknown()).nullable(),
  /** Probability thresholds of the tiers, chosen on validation data. */
  tiers: z.strictObject({ high: z.number(), medium: z.number() }),
  /** Validation metrics (at least roc_auc) and anything evaluate reports. */
  metrics: z.object({ roc_auc: z.number() }).passthrough(),
  /** Provenance: data hashes, seed, code version, candidate results. No timestamps (the hash must be stable). */
  training: z.record(z.string(), z.unknown()),
});
export type Bundle = z.infer<typeof bundleSchema>;

export interface StoredBundle {
  version: string;
  bundle: Bundle;
}

/** The content hash that names a bundle: 16 hex digits of sha256 of its canonical JSON. */
export function bundleVersion(bundle: Bundle): string {
  return modelVersionOf(sha256Hex(canonicalJson(bundle)));
}

/**
 * The stored bytes of a bundle. Everyone who writes a bundle (train's
 * candidate, promote's models/<version>/bundle.json) uses this, so equal
 * bundles are equal bytes and the step cache can recognise them.
 */
export function serializeBundle(bundle: Bundle): string {
  return canonicalJson(bundleSchema.parse(bundle));
}

/**
 * Write a bundle: side files first, bundle.json last (complete = present).
 * Idempotent: writing an identical bundle again is a no-op.
 */
export async function writeBundle(
  storage: Storage,
  bundle: Bundle,
  sideFiles: Record<string, string> = {},
  writer = "train",
): Promise<StoredBundle> {
  const parsed = bundleSchema.parse(bundle);
  const version = bundleVersion(parsed);
  if (await storage.stat(bundleObject(version))) return { version, bundle: parsed };
  const metadata = writtenBy(writer);
  for (const [name, content] of Object.entries(sideFiles)) {
    await storage.write(modelSideObject(version, name), content, { metadata });
  }
  await storage.write(bundleObject(version), canonicalJson(parsed), {
    metadata,
    contentType: "application/json",
  });
  return { version, bundle: parsed };
}

/** Read and validate a bundle; its content must still hash to its version. */
export async function readBundle(storage: Storage, version: string): Promise<StoredBundle> {
  if (!isModelVersion(version)) throw new InputError(`"${version}" is not a model version (16 hex digits)`);
  const info = await storage.stat(bundleObject(version));
  if (!info)
    throw new NotFoundError(`model ${version} does not exist (no ${storage.uri}/${bundleObject(version)})`);
  const bundle = parseDocument(
    bundleSchema,
    await storage.readText(bundleObject(version)),
    bundleObject(version),
    "bundle",
  );
  const actual = bundleVersion(bundle);
  if (actual !== version) {
    throw new InputError(
      `${bundleObject(version)} was modified: its content hashes to ${actual}, not ${version}`,
    );
  }
  return { version, bundle };
}

/** Versions of every complete bundle (those with bundle.json). */
export async function listBundleVersions(
  storage: Storage,
): Promise<Array<{ version: string; updated: Date }>> {
  const versions: Array<{ version: string; updated: Date }> = [];
  for (const o of await storage.list(MODELS_PREFIX)) {
    const version = versionOfBundleObject(o.name);
    if (version) versions.push({ version, updated: o.updated });
  }
  return versions.sort(
    (a, b) => a.updated.getTime() - b.updated.getTime() || a.version.localeCompare(b.version),
  );
}
