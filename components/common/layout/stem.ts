import { UsageError } from "../errors.js";

/**
 * File names and stems. A stem names a week (or a purchase log) everywhere:
 * `weekly/<stem>.csv` becomes `output/<stem>/`, `labels/<stem>.csv` joins it.
 */

/**
 * What counts as a CSV upload: `.csv` or `.csv.gz`, in any letter case.
 * Upper case is accepted on purpose: spreadsheet tools on Windows write
 * `.CSV`, and the function, `churn watch` and the runner always accepted it.
 */
export const CSV_NAME = /\.csv(\.gz)?$/i;

/** True when an object name ends like a CSV upload (`.csv` / `.csv.gz`, any case). */
export function isCsvName(name: string): boolean {
  return CSV_NAME.test(name);
}

/**
 * Stems that would collide with a folder the layout needs or hide from tools:
 * `lifetime` is `output/lifetime/`, `.` and `..` are path segments, and a
 * leading `_` marks the layout's own markers (`_SUCCESS`, `_latest.json`).
 * Compared without letter case: on the case-insensitive file systems of
 * macOS and Windows `output/LIFETIME/` is `output/lifetime/`.
 */
const RESERVED = new Set(["", ".", "..", "lifetime"]);

/** Letters, digits, `.`, `_` and `-`: safe in object names, URLs and file systems alike. */
const STEM_CHARS = /^[A-Za-z0-9._-]+$/;

/**
 * Names Windows cannot give a folder, with or without an extension: device
 * names. A week downloaded there (`gsutil cp -r output/...`) must still land.
 */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/** Stems longer than this are refused: they must fit in URLs and stay far below GCS's 1024-byte names. */
export const MAX_STEM_LENGTH = 200;

/** Why a text cannot be a stem: which rule it breaks, and the phrase that says so. */
export type StemProblem = { rule: "reserved" | "characters" | "segment" | "length"; text: string };

/** Why a text cannot be a stem, or null when it can. */
export function stemProblem(stem: string): StemProblem | null {
  if (RESERVED.has(stem.toLowerCase()) || stem.startsWith("_"))
    return { rule: "reserved", text: `its stem "${stem}" is reserved or empty` };
  if (!STEM_CHARS.test(stem))
    return { rule: "characters", text: `a stem may hold letters, digits, ".", "_" and "-" only` };
  if (stem.length > MAX_STEM_LENGTH)
    return { rule: "length", text: `its stem is longer than ${MAX_STEM_LENGTH} characters` };
  // Windows drops trailing dots from folder names ("W48." would be "W48"; "..." would be ".").
  if (stem.endsWith("."))
    return { rule: "segment", text: `its stem "${stem}" ends with ".", which no folder name can on Windows` };
  if (WINDOWS_DEVICE.test(stem))
    return { rule: "segment", text: `its stem "${stem}" is a device name on Windows, not a folder name` };
  return null;
}

/** True when a text is a valid stem (what the console accepts in a week's URL). */
export function isStem(stem: string): boolean {
  return stemProblem(stem) === null;
}

/**
 * The last segment of an object name without its CSV ending, unvalidated:
 * `weekly/2024-W18.csv.gz` → `2024-W18` (titles and joins; `stemOf` validates).
 */
export function baseStem(object: string): string {
  return object.slice(object.lastIndexOf("/") + 1).replace(CSV_NAME, "");
}

/** The one sentence that says why an object's name gives no valid stem, or null when it does. */
export function objectStemProblem(object: string): string | null {
  const problem = stemProblem(baseStem(object));
  if (problem === null) return null;
  if (problem.rule === "characters")
    return `"${object}": a weekly or transactions file name may hold letters, digits, ".", "_" and "-" only`;
  return `"${object}" cannot be processed: ${problem.text} (rename the file)`;
}

/**
 * `weekly/2024-W18.csv.gz` → `2024-W18`. Refuses (UsageError, exit 2) stems
 * that are empty, `.`, `..`, start with `_`, equal `lifetime` (any case), hold
 * other characters than letters, digits, `.`, `_` and `-` (DESIGN bucket
 * layout), or cannot be a folder name on every platform (a trailing `.`, a
 * Windows device name such as `con`).
 */
export function stemOf(object: string): string {
  const problem = objectStemProblem(object);
  if (problem !== null) throw new UsageError(problem);
  return baseStem(object);
}

/**
 * The stem of an object under a prefix: the rest of its name up to the first
 * `/`, without a CSV ending (`weekly/w1.csv.gz` and `output/w1/scores.csv`
 * both give `w1`). Used to join objects of one week across prefixes; it does
 * not validate (a join on an invalid stem simply finds nothing).
 */
export function stemUnder(name: string, prefix: string): string {
  const rest = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  const slash = rest.indexOf("/");
  return (slash < 0 ? rest : rest.slice(0, slash)).replace(CSV_NAME, "");
}

/**
 * The stem of a CSV directly under `prefix` (`labels/w1.csv.gz` → `w1`), or
 * null for anything else there: files in sub-folders, other files, names
 * that are not valid stems. How the monitors find each week's labels.
 */
export function csvStemDirectlyUnder(name: string, prefix: string): string | null {
  if (!name.startsWith(prefix) || !isCsvName(name)) return null;
  const stem = name.slice(prefix.length).replace(CSV_NAME, "");
  return !stem.includes("/") && isStem(stem) ? stem : null;
}

/** The object name of a stem's CSV under a prefix, e.g. `labels/` + `w1` → `labels/w1.csv`. */
export function csvObject(prefix: string, stem: string, gzip = false): string {
  return `${prefix}${stem}.csv${gzip ? ".gz" : ""}`;
}
