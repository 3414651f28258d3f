import { OUTPUT_PREFIX } from "./names.js";
import { isStem } from "./stem.js";

/**
 * Published outputs: `output/<stem>/` per scored week, `output/lifetime/<stem>/`
 * per purchase log, and `output/_latest.json`. Readers never see partial
 * outputs: publish writes `_SUCCESS` (a manifest) last, or `_FAILED`.
 */

/** The public file names of an output folder (the names are the contract with marketing and scripts). */
export const OUTPUT_FILES = {
  scores: "scores.csv",
  contactList: "contact-list.csv",
  rejected: "rejected.csv",
  summary: "summary.json",
  report: "report.html",
  drift: "drift.json",
  customers: "customers.csv",
  alerts: "alerts.csv",
  /** The week's customer index for the lookup (components/common/documents/customer-index.ts). */
  lookupIndex: "lookup.index",
  /** The manifest of a complete publish, written last. */
  success: "_SUCCESS",
  /** One sentence: why the last run of this output failed. */
  failed: "_FAILED",
} as const;

/** The lifetime pipeline's outputs live here, which is why `lifetime` cannot be a weekly stem. */
export const LIFETIME_OUTPUT_PREFIX = `${OUTPUT_PREFIX}lifetime/`;

/** Pointer to the newest complete week (for the customer lookup). */
export const LATEST_OBJECT = `${OUTPUT_PREFIX}_latest.json`;

/** `output/<stem>/`: a week's published folder. */
export function weekOutputPrefix(stem: string): string {
  return `${OUTPUT_PREFIX}${stem}/`;
}

/** `output/lifetime/<stem>/`: a purchase log's published folder. */
export function lifetimeOutputPrefix(stem: string): string {
  return `${LIFETIME_OUTPUT_PREFIX}${stem}/`;
}

/** One published file of a week, e.g. `output/2026-W48/scores.csv`. */
export function weekOutputObject(stem: string, file: string): string {
  return `${weekOutputPrefix(stem)}${file}`;
}

/**
 * The week and file a name under `output/` is, or null when it is none:
 * only direct children of `output/<stem>/` with a valid stem count, so
 * `output/lifetime/...` and `output/_latest.json` are never taken for a week.
 */
export function weekFileOf(name: string): { stem: string; file: string } | null {
  const match = /^output\/([^/]+)\/([^/]+)$/.exec(name);
  if (!match || !isStem(match[1]!)) return null;
  return { stem: match[1]!, file: match[2]! };
}

/** A name that can be a file directly in an output folder (guards object names built from a request). */
const OUTPUT_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

/** True when the text can name a file of an output folder (no `/`, no leading `.`). */
export function isOutputFileName(text: string): boolean {
  return OUTPUT_FILE_NAME.test(text);
}
