/**
 * The one JSON key style of every `--json` output: snake_case.
 *
 * Stored documents keep the keys they were written with: the dataset schema
 * (`missingTokens`, `idColumn`, ...) is hashed into the model version, and
 * step counts (`rowsIn`, `trainingRows`, ...) live in old run records and
 * cache entries. Renaming them in storage would change every model version
 * and break reading old buckets, so the renaming happens here, once, where a
 * document leaves the CLI as output.
 */

/** A key in the output style: lower-case words joined by `_` (`rows_in`, `cv_roc_auc`). */
export const SNAKE_KEY = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/** A camelCase identifier (`rowsIn`, `cvRocAuc`): the only keys renamed. */
const CAMEL_KEY = /^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$/;

/**
 * Keys whose value is a record keyed by data rather than by field names: its
 * own keys stay as written; its values are still converted. `labels` is
 * churn.yaml's column -> display label map (the user's column names);
 * `reasons` counts rejected rows by reason sentence ("empty id": 3);
 * `timings` gives seconds by step name ("join-labels": step names are the
 * same in code, CLI, Jobs and chart, so they are never renamed).
 */
export const USER_DATA_RECORDS: ReadonlySet<string> = new Set(["labels", "reasons", "timings"]);

/** `rowsIn` -> `rows_in`, `cvRocAuc` -> `cv_roc_auc`, `rocAUC` -> `roc_auc`; other keys unchanged. */
export function snakeKey(key: string): string {
  if (!CAMEL_KEY.test(key)) return key;
  return key
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase();
}

/** A copy of a JSON value with every camelCase key in snake_case, except the keys of user-data records. */
export function snakeKeys(value: unknown, keepOwnKeys = false): unknown {
  if (Array.isArray(value)) return value.map((item) => snakeKeys(item));
  if (value === null || typeof value !== "object") return value;
  // toJSON first (Dates, and documents that define their own JSON form), as JSON.stringify would.
  const plain =
    typeof (value as { toJSON?: unknown }).toJSON === "function"
      ? (value as { toJSON(): unknown }).toJSON()
      : value;
  if (plain !== value) return snakeKeys(plain, keepOwnKeys);
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      keepOwnKeys ? key : snakeKey(key),
      snakeKeys(item, USER_DATA_RECORDS.has(key)),
    ]),
  );
}
