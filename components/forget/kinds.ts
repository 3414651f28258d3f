import { looksBinary } from "../common/csv/decode.js";
import { CONFIG_OBJECT, isLeaseObject, LABELS_PREFIX, MODELS_PREFIX } from "../common/layout/index.js";
import { isGzipName } from "../common/storage/uri.js";
import { looksLikeArrow } from "./arrow.js";
import type { CsvIdRule } from "./csv.js";

/**
 * Which objects forget reads, and how: the naming rules that decide whether
 * an object is skipped, only checked, streamed or read whole.
 */

/** Where forget records go; never scanned (they hold only hashed ids). */
export const FORGET_PREFIX = "forget/";

export type ObjectKind = "csv" | "arrow" | "json" | "text" | "binary";

/** The name without `.gz`, lowercased: what the name says about the content. */
function decodedName(name: string): string {
  return (isGzipName(name) ? name.slice(0, -3) : name).toLowerCase();
}

function isCsvName(base: string): boolean {
  return base.endsWith(".csv") || base.endsWith(".tsv");
}

function isArrowName(base: string): boolean {
  return base.endsWith(".arrow") || base.endsWith(".arrows");
}

/** What kind of content an object holds, from its name first and its bytes second. */
export function kindOf(name: string, bytes: Uint8Array): ObjectKind {
  const base = decodedName(name);
  if (isCsvName(base)) return "csv";
  if (isArrowName(base) || looksLikeArrow(bytes)) return "arrow";
  if (base.endsWith(".json")) return "json";
  if (looksBinary(bytes)) return "binary";
  const text = Buffer.from(bytes.subarray(0, 1)).toString("latin1");
  if (text === "{" || text === "[") {
    try {
      JSON.parse(Buffer.from(bytes).toString("utf8"));
      return "json";
    } catch {
      // text that merely starts like JSON
    }
  }
  return "text";
}

/** CSV files and Arrow intermediates are streamed (they are the big objects). */
export function streamKind(name: string): "csv" | "arrow" | null {
  const base = decodedName(name);
  if (isCsvName(base)) return "csv";
  if (isArrowName(base)) return "arrow";
  return null;
}

/** `.json` and `.json.gz` objects: read in the second (JSON) phase, after the data they may point at. */
export function isJsonName(name: string): boolean {
  return decodedName(name).endsWith(".json");
}

/** Objects forget never rewrites: its own records, the config, leases. */
export function skipped(name: string): boolean {
  return name.startsWith(FORGET_PREFIX) || name === CONFIG_OBJECT || isLeaseObject(name);
}

/**
 * Model objects are content-addressed (the version is a hash of the bundle):
 * rewriting one would break it, so they are only checked, and an id found in
 * one is reported as unhandled.
 */
export function checkOnly(name: string): boolean {
  return name.startsWith(MODELS_PREFIX);
}

/** The id rule for one object: labels/<stem>.csv is `id, label`, whatever its header says. */
export function ruleFor(name: string, rule: CsvIdRule): CsvIdRule {
  return name.startsWith(LABELS_PREFIX) ? { ...rule, firstColumnIsId: true } : rule;
}
