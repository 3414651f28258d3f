import { NotFoundError, UsageError } from "../../components/common/errors.js";
import type { ObjectInfo, Storage } from "../../components/common/storage/index.js";

const CSV = /\.csv(\.gz)?$/i;

/** `weekly/2024-W18.csv.gz` → `2024-W18`. DESIGN: `lifetime` is reserved and cannot be a stem. */
export function stemOf(object: string): string {
  const base = object.slice(object.lastIndexOf("/") + 1).replace(CSV, "");
  if (base === "" || base === "lifetime") {
    throw new UsageError(
      `"${object}" cannot be processed: its stem "${base}" is reserved or empty (rename the file)`,
    );
  }
  if (!/^[A-Za-z0-9._-]+$/.test(base)) {
    throw new UsageError(
      `"${object}": a weekly or transactions file name may hold letters, digits, ".", "_" and "-" only`,
    );
  }
  return base;
}

/** True for objects the system wrote itself (DESIGN: the weekly trigger ignores them). */
export function isSystemWritten(info: ObjectInfo): boolean {
  return info.metadata["churn-writer"] !== undefined;
}

/**
 * The file a run is for: the one named, or the newest upload under the
 * pipeline's trigger prefix (`weekly/`, `transactions/`; latest upload time,
 * name breaks ties so the choice is stable).
 */
export async function selectWeeklyFile(
  storage: Storage,
  named?: string,
  prefix = "weekly/",
): Promise<ObjectInfo> {
  const option = prefix === "weekly/" ? "--weekly" : `--${prefix.replace(/\/$/, "")}`;
  if (named) {
    if (!named.startsWith(prefix) || !CSV.test(named)) {
      throw new UsageError(
        `${option} must name a CSV under ${prefix}, e.g. ${prefix}2024-W18.csv (got "${named}")`,
      );
    }
    const info = await storage.stat(named);
    if (!info) throw new NotFoundError(`${storage.uri}/${named} does not exist`);
    stemOf(named);
    return info;
  }
  const candidates = (await storage.list(prefix)).filter((o) => CSV.test(o.name) && !isSystemWritten(o));
  if (candidates.length === 0) {
    throw new NotFoundError(
      prefix === "weekly/"
        ? `no weekly file to score: upload a CSV to ${storage.uri}/weekly/ (or run \`churn init\`)`
        : `no file to process: upload a CSV to ${storage.uri}/${prefix}`,
    );
  }
  candidates.sort((a, b) => b.updated.getTime() - a.updated.getTime() || b.name.localeCompare(a.name));
  stemOf(candidates[0]!.name);
  return candidates[0]!;
}

/** The training data that identifies a retrain run: every input/ and labels/ object. */
export async function trainingData(storage: Storage): Promise<ObjectInfo[]> {
  const objects = [...(await storage.list("input/")), ...(await storage.list("labels/"))].filter((o) =>
    CSV.test(o.name),
  );
  if (!objects.some((o) => o.name.startsWith("input/"))) {
    throw new NotFoundError(`no training data: upload labelled history CSVs to ${storage.uri}/input/`);
  }
  return objects;
}
