import { type PublishState, readPublishState } from "../../components/common/documents/manifest.js";
import { NotFoundError } from "../../components/common/errors.js";
import {
  LIFETIME_OUTPUT_PREFIX,
  lifetimeOutputPrefix,
  OUTPUT_FILES,
  OUTPUT_PREFIX,
  stemUnder,
  TRANSACTIONS_PREFIX,
  triggerStem,
  WEEKLY_PREFIX,
  weekFileOf,
  weekOutputObject,
  weekOutputPrefix,
} from "../../components/common/layout/index.js";
import type { ObjectInfo, Storage } from "../../components/common/storage/index.js";
import type { RunRecord } from "../runner/records.js";
import { readView, summaryView } from "./documents.js";
import { listRunRecords, type RunRecords } from "./runs.js";

/**
 * Weeks as people look them up: every weekly file and every published
 * folder `output/<stem>/`, with its state from `_SUCCESS` (the manifest of
 * the publish, checked against the folder's listing) and `_FAILED`.
 */

/** A published file of a week. */
export interface WeekFile {
  name: string;
  size: number;
  updated: string;
}

/** The state of a week's output folder. */
export type WeekStatus = "published" | "failed" | "incomplete" | "waiting";

/** One weekly file and its output folder. */
export interface WeekSummary {
  stem: string;
  /** The weekly file of this stem (`weekly/<stem>.csv[.gz]`), when it is still in the bucket. */
  weekly_file: string | null;
  /**
   * published: `_SUCCESS` is a manifest and every file it lists is there as
   * listed (size and generation); failed: `_FAILED` and no manifest;
   * incomplete: outputs without a manifest, files that no longer match it
   * (a publish is in progress) or a `_SUCCESS` that is no manifest; waiting:
   * a weekly file with no outputs yet.
   */
  status: WeekStatus;
  /** Why an incomplete week is not published (which file does not match, or why `_SUCCESS` is no manifest). */
  problem: string | null;
  /** The run that published the files (the manifest's run id), when published. */
  published_by: string | null;
  /** The sentence in `_FAILED`, when the last run of this week failed. */
  failure: string | null;
  files: WeekFile[];
  counts: Record<string, number> | null;
  /** Runs that wrote this folder or were triggered by its weekly file, newest first. */
  runs: string[];
}

/** A week's status from the state of its output folder. */
const WEEK_STATUS: Record<PublishState["status"], WeekStatus> = {
  complete: "published",
  failed: "failed",
  in_progress: "incomplete",
  invalid: "incomplete",
  missing: "waiting",
};

async function weekOf(
  storage: Storage,
  stem: string,
  objects: ObjectInfo[],
  runs: RunRecord[],
  weeklyFile: string | null,
): Promise<WeekSummary> {
  const prefix = weekOutputPrefix(stem);
  const files = objects.map((o) => ({
    name: o.name.slice(prefix.length),
    size: o.size,
    updated: o.updated.toISOString(),
  }));
  const names = new Set(files.map((f) => f.name));
  const state = await readPublishState(storage, prefix, objects);
  const summary = names.has(OUTPUT_FILES.summary)
    ? await readView(storage, weekOutputObject(stem, OUTPUT_FILES.summary), summaryView)
    : null;
  return {
    stem,
    weekly_file: weeklyFile,
    status: WEEK_STATUS[state.status],
    problem: state.status === "in_progress" || state.status === "invalid" ? state.reason : null,
    published_by: state.status === "complete" ? state.manifest.run_id : null,
    failure: "failure" in state ? state.failure : null,
    files,
    counts: summary?.counts ?? null,
    runs: runs
      .filter((r) => r.output_prefix === prefix || (weeklyFile !== null && r.trigger?.object === weeklyFile))
      .map((r) => r.run_id),
  };
}

/** Output objects grouped by week: direct children of `output/<stem>/` only (never `output/lifetime/`). */
function groupWeeks(objects: ObjectInfo[]): Map<string, ObjectInfo[]> {
  const weeks = new Map<string, ObjectInfo[]>();
  for (const o of objects) {
    const week = weekFileOf(o.name);
    if (!week) continue;
    const list = weeks.get(week.stem) ?? [];
    list.push(o);
    weeks.set(week.stem, list);
  }
  return weeks;
}

/** Weekly files by stem: the objects whose names the trigger rule accepts (`weekly/<stem>.csv[.gz]`). */
async function weeklyFiles(storage: Storage, stem = ""): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const o of await storage.list(`${WEEKLY_PREFIX}${stem}`)) {
    const found = triggerStem(o.name);
    if (found !== null && (stem === "" || found === stem)) files.set(found, o.name);
  }
  return files;
}

/** Every weekly file and every output folder, newest stem first. */
export async function listWeeks(
  storage: Storage,
  records: RunRecords = () => listRunRecords(storage),
): Promise<WeekSummary[]> {
  const weeks = groupWeeks(await storage.list(OUTPUT_PREFIX));
  const weekly = await weeklyFiles(storage);
  const runs = await records();
  const stems = new Set([...weeks.keys(), ...weekly.keys()]);
  const result: WeekSummary[] = [];
  for (const stem of [...stems].sort().reverse())
    result.push(await weekOf(storage, stem, weeks.get(stem) ?? [], runs, weekly.get(stem) ?? null));
  return result;
}

/** One week (a valid stem, checked by the caller); NotFoundError when it has neither a weekly file nor outputs. */
export async function getWeek(
  storage: Storage,
  stem: string,
  records: RunRecords = () => listRunRecords(storage),
): Promise<WeekSummary> {
  const objects = (await storage.list(weekOutputPrefix(stem))).filter(
    (o) => weekFileOf(o.name)?.stem === stem,
  );
  const weeklyFile = (await weeklyFiles(storage, stem)).get(stem) ?? null;
  if (objects.length === 0 && weeklyFile === null)
    throw new NotFoundError(
      `no week ${stem}: no ${WEEKLY_PREFIX}${stem}.csv and nothing under ${weekOutputPrefix(stem)}`,
    );
  return weekOf(storage, stem, objects, await records(), weeklyFile);
}

/** Which published folders a reader can ask for: weeks (`output/<stem>/`) or lifetime outputs (`output/lifetime/<stem>/`). */
export type FolderKind = "week" | "lifetime";

/** Where a kind of folder comes from and goes to. */
const FOLDER_KINDS: Record<FolderKind, { input: string; prefix: (stem: string) => string }> = {
  week: { input: WEEKLY_PREFIX, prefix: weekOutputPrefix },
  lifetime: { input: TRANSACTIONS_PREFIX, prefix: lifetimeOutputPrefix },
};

/** The output folder of a stem: `output/<stem>/` or `output/lifetime/<stem>/`. */
export function folderPrefix(kind: FolderKind, stem: string): string {
  return FOLDER_KINDS[kind].prefix(stem);
}

/**
 * The stems of a kind a reader may ask for, sorted: those with an input file
 * (`weekly/<stem>.csv`, `transactions/<stem>.csv`) and those with an output
 * folder; `inputs` says which have an input file (a run can still publish them).
 */
export async function knownStems(
  storage: Storage,
  kind: FolderKind,
): Promise<{ stems: string[]; inputs: Set<string> }> {
  const inputs = new Set<string>();
  for (const o of await storage.list(FOLDER_KINDS[kind].input)) {
    const stem = triggerStem(o.name, FOLDER_KINDS[kind].input);
    if (stem !== null) inputs.add(stem);
  }
  const outputs = new Set<string>();
  if (kind === "week")
    for (const stem of groupWeeks(await storage.list(OUTPUT_PREFIX)).keys()) outputs.add(stem);
  else
    for (const o of await storage.list(LIFETIME_OUTPUT_PREFIX))
      if (o.name.slice(LIFETIME_OUTPUT_PREFIX.length).includes("/"))
        outputs.add(stemUnder(o.name, LIFETIME_OUTPUT_PREFIX));
  return { stems: [...new Set([...inputs, ...outputs])].sort(), inputs };
}
