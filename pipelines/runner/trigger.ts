import { NotFoundError, UsageError } from "../../components/common/errors.js";
import {
  INPUT_PREFIX,
  isCsvName,
  LABELS_PREFIX,
  triggerCandidates,
  triggerNameProblem,
  WEEKLY_PREFIX,
} from "../../components/common/layout/index.js";
import type { ObjectInfo, Storage } from "../../components/common/storage/index.js";

/**
 * The file a run is for: the one named, or the newest upload under the
 * pipeline's trigger prefix (`weekly/`, `transactions/`; latest upload time,
 * name breaks ties so the choice is stable). Both go through the layout's
 * trigger rule, the one the cloud function and `churn watch` use.
 */
export async function selectWeeklyFile(
  storage: Storage,
  named?: string,
  prefix = WEEKLY_PREFIX,
): Promise<ObjectInfo> {
  const option = prefix === WEEKLY_PREFIX ? "--weekly" : `--${prefix.replace(/\/$/, "")}`;
  if (named) {
    const problem = triggerNameProblem(named, prefix);
    if (problem?.rule === "outside" || problem?.rule === "not-csv") {
      throw new UsageError(
        `${option} must name a CSV under ${prefix}, e.g. ${prefix}2024-W18.csv (got "${named}")`,
      );
    }
    if (problem?.rule === "subfolder") {
      throw new UsageError(
        `${option} must name a CSV directly under ${prefix} (not in a subfolder), e.g. ${prefix}2024-W18.csv (got "${named}")`,
      );
    }
    const info = await storage.stat(named);
    if (!info) throw new NotFoundError(`${storage.uri}/${named} does not exist`);
    // A file named on purpose may be one the system wrote; only its name must be valid.
    if (problem) throw new UsageError(problem.reason);
    return info;
  }
  const [newest] = triggerCandidates(await storage.list(prefix), prefix);
  if (!newest) {
    throw new NotFoundError(
      prefix === WEEKLY_PREFIX
        ? `no weekly file to score: upload a CSV to ${storage.uri}/weekly/ (or run \`churn init\`)`
        : `no file to process: upload a CSV to ${storage.uri}/${prefix}`,
    );
  }
  // The newest upload has a name no run can be for: say so instead of quietly taking an older one.
  if (newest.refusal) throw new UsageError(newest.refusal.reason);
  return newest.object;
}

/** The training data that identifies a retrain run: every input/ and labels/ object. */
export async function trainingData(storage: Storage): Promise<ObjectInfo[]> {
  const objects = [...(await storage.list(INPUT_PREFIX)), ...(await storage.list(LABELS_PREFIX))].filter(
    (o) => isCsvName(o.name),
  );
  if (!objects.some((o) => o.name.startsWith(INPUT_PREFIX))) {
    throw new NotFoundError(
      `no training data: upload labelled history CSVs to ${storage.uri}/${INPUT_PREFIX}`,
    );
  }
  return objects;
}
