import { LIFETIME_VALUES } from "../config/schema.js";
import { InputError } from "../errors.js";
import { LIFETIME_OUTPUT_PREFIX, OUTPUT_FILES, TRANSACTIONS_PREFIX } from "../layout/index.js";
import type { Storage } from "../storage/types.js";
import { type ManifestFile, readPublishState } from "./manifest.js";

/**
 * Where the latest lifetime output lives and how its customers.csv is read
 * (DESIGN "Non-contractual customers"): the one rule for every reader that
 * joins the lifetime pipeline's per-customer figures to a week (the
 * contact list's `campaign.value_column: lifetime`, the customer lookup's
 * P(alive)).
 *
 * "Latest" is the complete `output/lifetime/<stem>/` whose `_SUCCESS` was
 * written last: the figures of the lifetime run that finished most recently,
 * whatever its purchase log was called (a log is often replaced by a longer
 * one under a new name, and the log itself may be gone by then). A folder
 * counts only while its manifest's files are there as listed, so a publish in
 * progress is never read half-written.
 */

/** The setting that makes the contact list read the lifetime output, as messages name it. */
export const LIFETIME_VALUES_SETTING = `churn.yaml campaign.value_column is ${LIFETIME_VALUES}`;

/** customers.csv's column holding each customer's lifetime value (empty without a spend model). */
export const LIFETIME_VALUE_COLUMN = "lifetime_value";

/** A complete lifetime output folder and its customers.csv as the manifest lists it. */
export interface LifetimeOutput {
  stem: string;
  /** `output/lifetime/<stem>/`. */
  prefix: string;
  /** customers.csv: object name, and the size, sha256 and generation the manifest recorded. */
  customers: { object: string; sha256: string; size: number; generation: string };
}

const customersOf = (prefix: string, file: ManifestFile): LifetimeOutput["customers"] => ({
  object: `${prefix}${file.name}`,
  sha256: file.sha256,
  size: file.size,
  generation: file.generation,
});

/** The latest complete lifetime output of the bucket (see above), or null when it has none. */
export async function latestLifetimeOutput(storage: Storage): Promise<LifetimeOutput | null> {
  const markers = (await storage.list(LIFETIME_OUTPUT_PREFIX))
    .filter((o) => {
      const rest = o.name.slice(LIFETIME_OUTPUT_PREFIX.length).split("/");
      return rest.length === 2 && rest[1] === OUTPUT_FILES.success;
    })
    // Newest publish first; equal times (coarse clocks) in name order, so the choice is stable.
    .sort((a, b) => b.updated.getTime() - a.updated.getTime() || a.name.localeCompare(b.name));
  for (const marker of markers) {
    const prefix = marker.name.slice(0, -OUTPUT_FILES.success.length);
    const state = await readPublishState(storage, prefix);
    if (state.status !== "complete") continue;
    const file = state.manifest.files.find((f) => f.name === OUTPUT_FILES.customers);
    if (file)
      return {
        stem: prefix.slice(LIFETIME_OUTPUT_PREFIX.length, -1),
        prefix,
        customers: customersOf(prefix, file),
      };
  }
  return null;
}

/**
 * What to tell someone whose config needs a lifetime output the bucket does
 * not have (`because`: the setting that needs it): the command that makes one.
 */
export function missingLifetimeOutputMessage(bucketUri: string, because: string): string {
  return (
    `${because}, but ${bucketUri} has no complete lifetime output under ${LIFETIME_OUTPUT_PREFIX}: ` +
    `run \`churn pipeline run lifetime --bucket ${bucketUri}\` first (it scores the newest purchase log under ${TRANSACTIONS_PREFIX})`
  );
}

/**
 * Where a customers.csv keeps a figure: the id is its first column (named
 * after transactions.customer_column), the figure is found by name. A
 * missing column is an InputError naming the file and the column.
 */
export function lifetimeColumnIndex(header: readonly string[], column: string, source: string): number {
  const i = header.indexOf(column);
  if (i < 1)
    throw new InputError(
      `${source}: the header has no column "${column}" (is it a customers.csv of the lifetime pipeline?)`,
    );
  return i;
}

/**
 * A customer's lifetime value as customers.csv prints it: empty means none
 * (no spend model for the log); anything else must be a finite number, or
 * an InputError names the file, line and column.
 */
export function parseLifetimeValue(text: string, source: string, line: number): number | null {
  if (text === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value))
    throw new InputError(
      `${source} line ${line}, column "${LIFETIME_VALUE_COLUMN}": "${text}" is not a number`,
    );
  return value;
}
