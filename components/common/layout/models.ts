import { MODELS_PREFIX } from "./names.js";

/**
 * Model objects: `models/<version>/bundle.json` (written last, so present =
 * complete), its side files, the `models/champion` pointer, and the lifetime
 * models under `models/lifetime/`.
 */

/** How many hex digits of a bundle's content hash name it. */
const VERSION_DIGITS = 16;

/** A model version: 16 lowercase hex digits of the bundle's content hash. */
const MODEL_VERSION = /^[0-9a-f]{16}$/;

/** The version that names a bundle whose canonical JSON hashes to `sha256Hex`. */
export function modelVersionOf(sha256Hex: string): string {
  return sha256Hex.slice(0, VERSION_DIGITS);
}

/** True when the text is a model version (also guards object names built from it). */
export function isModelVersion(text: string): boolean {
  return MODEL_VERSION.test(text);
}

/** The folder of one model version. */
export function modelPrefix(version: string): string {
  return `${MODELS_PREFIX}${version}/`;
}

/** `models/<version>/bundle.json`: the bundle; its presence means the bundle is complete. */
export function bundleObject(version: string): string {
  return `${modelPrefix(version)}bundle.json`;
}

/** A side file of a bundle (written before bundle.json), e.g. `evaluation.json`. */
export function modelSideObject(version: string, file: string): string {
  return `${modelPrefix(version)}${file}`;
}

/** The gate's decision stored beside a bundle by promote. */
export const EVALUATION_FILE = "evaluation.json";

/**
 * The model's own held-out evaluation (metrics, calibration, lift, drivers),
 * stored beside its bundle by promote: a week scored by this model while a
 * later candidate lost is described with it.
 */
export const EVALUATION_REPORT_FILE = "evaluation-report.json";

/**
 * Which customers a model trained on, as keyed id hashes (never raw ids),
 * stored beside its bundle before bundle.json: the gate compares a champion
 * only on rows it never saw, and `churn forget` removes forgotten ids from it.
 */
export const TRAINED_IDS_FILE = "trained-ids.json";

/** `models/_id_key`: the bucket's HMAC key for trained-id hashes, created once (versions stay reproducible). */
export const ID_KEY_OBJECT = `${MODELS_PREFIX}_id_key`;

/** The version a `models/<version>/bundle.json` name is for, or null for any other name. */
export function versionOfBundleObject(name: string): string | null {
  const match = /^models\/([^/]+)\/bundle\.json$/.exec(name);
  return match && isModelVersion(match[1]!) ? match[1]! : null;
}

/** `models/champion`: the authoritative pointer to the live model (MLflow mirrors it). */
export const CHAMPION_OBJECT = `${MODELS_PREFIX}champion`;

/** The lifetime models, one `<version>.json` each, newest served. */
export const LIFETIME_MODELS_PREFIX = `${MODELS_PREFIX}lifetime/`;

/** `models/lifetime/<version>.json`: one fitted lifetime model. */
export function lifetimeModelObject(version: string): string {
  return `${LIFETIME_MODELS_PREFIX}${version}.json`;
}
