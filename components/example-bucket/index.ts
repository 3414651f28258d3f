import { Readable } from "node:stream";
import { UsageError } from "../common/errors.js";
import { CONFIG_OBJECT } from "../common/layout/index.js";
import type { Storage } from "../common/storage/types.js";
import { exampleConfigText } from "./config.js";
import { type ExampleStats, exampleRows, MAX_EXAMPLE_ROWS } from "./generate.js";
import { exampleTransactionLines } from "./transactions.js";

export { exampleConfigText } from "./config.js";
export {
  CATEGORY_VALUES,
  EXAMPLE_COLUMNS,
  type ExampleRowsOptions,
  type ExampleStats,
  exampleRows,
  ID_COLUMN,
  LABEL_COLUMN,
  MAX_EXAMPLE_ROWS,
  POSITIVE_LABEL,
  WEEKLY_COLUMNS,
} from "./generate.js";

/**
 * The example week. A fixed date, not today's, so `churn init` writes the
 * same bytes and names every time it is given the same arguments.
 */
export const EXAMPLE_WEEK_DATE = new Date(Date.UTC(2026, 10, 23));

/** ISO 8601 week of a date as a weekly stem, e.g. `2026-W48`. */
export function isoWeekStem(date: Date): string {
  const day = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
  // The ISO week belongs to the year of its Thursday.
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, "0")}`;
}

export const HISTORY_OBJECT = "input/history.csv";
/** The example purchase log of the lifetime pipeline (the month of the example week). */
export const EXAMPLE_TRANSACTIONS_OBJECT = `transactions/${EXAMPLE_WEEK_DATE.toISOString().slice(0, 7)}.csv`;
/** Customers in the example purchase log: a tenth of the history, within these bounds. */
const TRANSACTION_CUSTOMERS = { min: 100, max: 2_000 };
/** The weekly file `churn init` writes. */
export const EXAMPLE_WEEKLY_OBJECT = `weekly/${isoWeekStem(EXAMPLE_WEEK_DATE)}.csv`;

export const DEFAULT_ROWS = 20_000;
export const DEFAULT_WEEKLY_ROWS = 5_000;
export const DEFAULT_SEED = 42;
/** Fewer labelled rows than this cannot give a cross-validated model a fair chance. */
export const MIN_ROWS = 100;

/** What `initExampleBucket` is asked to do. */
export interface InitOptions {
  rows: number;
  weeklyRows: number;
  seed: number;
  /** Replace existing example objects (churn.yaml, the history and weekly files). */
  force: boolean;
  /** Called as rows stream out (per chunk of a few thousand rows). */
  onProgress?: (progress: { object: string; rowsDone: number; rowsTotal: number }) => void;
}

/** One object `churn init` wrote. */
export interface WrittenObject {
  name: string;
  bytes: number;
  /** Data rows (header excluded); absent for churn.yaml. */
  rows?: number;
  /** Churned rows among them; only for the labelled file. */
  churned?: number;
  /** Customers whose purchases it holds; only for the purchase log. */
  customers?: number;
}

/** The outcome of `initExampleBucket`. */
export interface InitResult {
  bucket: string;
  seed: number;
  objects: WrittenObject[];
  /** Share of churned customers in the labelled history. */
  churnRate: number;
  weeklyObject: string;
  transactionsObject: string;
}

/** Check counts and seed; every problem is reported at once, naming the flag. */
export function checkInitOptions(options: Pick<InitOptions, "rows" | "weeklyRows" | "seed">): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(options.rows) || options.rows < MIN_ROWS) {
    problems.push(`--rows must be a whole number of at least ${MIN_ROWS}, got ${options.rows}`);
  }
  if (!Number.isSafeInteger(options.weeklyRows) || options.weeklyRows < 1) {
    problems.push(`--weekly-rows must be a whole number of at least 1, got ${options.weeklyRows}`);
  }
  if (problems.length === 0 && options.rows + options.weeklyRows > MAX_EXAMPLE_ROWS) {
    problems.push(
      `--rows plus --weekly-rows must not exceed ${MAX_EXAMPLE_ROWS} (the example id space), got ${options.rows + options.weeklyRows}`,
    );
  }
  if (!Number.isSafeInteger(options.seed) || options.seed < 0) {
    problems.push(`--seed must be a non-negative whole number, got ${options.seed}`);
  }
  if (problems.length > 0) throw new UsageError(problems.join("; "));
}

/**
 * Write an example bucket: churn.yaml, a labelled `input/history.csv` and an
 * unlabelled weekly file, all streamed, deterministic for the same options.
 * Refuses (exit 2) to replace any of them unless `force`.
 */
export async function initExampleBucket(storage: Storage, options: InitOptions): Promise<InitResult> {
  checkInitOptions(options);
  const targets = [CONFIG_OBJECT, HISTORY_OBJECT, EXAMPLE_TRANSACTIONS_OBJECT, EXAMPLE_WEEKLY_OBJECT];
  if (!options.force) {
    const existing = (await Promise.all(targets.map((name) => storage.stat(name)))).filter((info) => info);
    if (existing.length > 0) {
      const names = existing.map((info) => `${storage.uri}/${info!.name}`).join(", ");
      throw new UsageError(
        `${names} already exist${existing.length === 1 ? "s" : ""}: pass --force to overwrite, or choose an empty bucket`,
      );
    }
  }

  // No churn-writer metadata on any object, on purpose: DESIGN's weekly
  // trigger ignores objects the system wrote, and these stand in for a data
  // engineer's uploads, so the weekly file must start a run like a real one.
  // Order matters for the same reason: the config and history go first, the
  // weekly file last, so a deployed trigger never fires into a half-made bucket.
  const objects: WrittenObject[] = [];
  const config = await storage.write(CONFIG_OBJECT, exampleConfigText(options.seed), {
    contentType: "application/yaml",
  });
  objects.push({ name: CONFIG_OBJECT, bytes: config.size });

  const files = [
    { name: HISTORY_OBJECT, rows: options.rows, labelled: true, firstIndex: 0 },
    // Ids continue after the history's, so no customer is in both files.
    { name: EXAMPLE_WEEKLY_OBJECT, rows: options.weeklyRows, labelled: false, firstIndex: options.rows },
  ];
  let historyStats: ExampleStats = { rows: 0, churned: 0 };
  for (const file of files) {
    const stats: ExampleStats = { rows: 0, churned: 0 };
    const stream = exampleRows(
      {
        rows: file.rows,
        seed: options.seed,
        labelled: file.labelled,
        firstIndex: file.firstIndex,
        onProgress: (rowsDone) => options.onProgress?.({ object: file.name, rowsDone, rowsTotal: file.rows }),
      },
      stats,
    );
    const info = await storage.write(file.name, stream, { contentType: "text/csv" });
    const written: WrittenObject = { name: file.name, bytes: info.size, rows: stats.rows };
    if (file.labelled) {
      written.churned = stats.churned;
      historyStats = stats;
    }
    objects.push(written);
    // The purchase log goes before the weekly file, which stays last (see above).
    if (file.labelled) objects.push(await writeTransactions(storage, options));
  }
  return {
    bucket: storage.uri,
    seed: options.seed,
    objects,
    churnRate: historyStats.rows === 0 ? 0 : historyStats.churned / historyStats.rows,
    weeklyObject: EXAMPLE_WEEKLY_OBJECT,
    transactionsObject: EXAMPLE_TRANSACTIONS_OBJECT,
  };
}

/** The example purchase log, so `churn pipeline run lifetime` works on a fresh example bucket. */
async function writeTransactions(storage: Storage, options: InitOptions): Promise<WrittenObject> {
  const customers = Math.min(
    TRANSACTION_CUSTOMERS.max,
    Math.max(TRANSACTION_CUSTOMERS.min, Math.round(options.rows / 10)),
  );
  let rows = -1;
  const lines = exampleTransactionLines({ customers, seed: options.seed, end: EXAMPLE_WEEK_DATE });
  const counted = (function* () {
    for (const line of lines) {
      rows++;
      yield Buffer.from(line);
    }
  })();
  const info = await storage.write(EXAMPLE_TRANSACTIONS_OBJECT, Readable.from(counted), {
    contentType: "text/csv",
  });
  return { name: EXAMPLE_TRANSACTIONS_OBJECT, bytes: info.size, rows, customers };
}
