import { z } from "zod";
import {
  type ChampionPointer,
  listBundleVersions,
  readBundle,
  readChampion,
  type StoredBundle,
} from "../../components/common/bundle/index.js";
import {
  type DecisionDocument,
  decisionDocumentSchema,
  decisionLine,
  decisionLineSchema,
} from "../../components/common/documents/decision.js";
import { parseDocument } from "../../components/common/documents/parse.js";
import { InputError, NotFoundError } from "../../components/common/errors.js";
import { EVALUATION_FILE, isModelVersion, modelSideObject } from "../../components/common/layout/index.js";
import type { Storage } from "../../components/common/storage/index.js";
import type { RunRecord } from "../runner/records.js";
import { anyJson, decisionView, evaluationView, readView } from "./documents.js";
import { listRunRecords, type RunRecords } from "./runs.js";

/**
 * Models as people look them up: every bundle under models/ with its
 * metrics, and the champion (`churn models list`, the console's models page).
 *
 * A damaged bundle (bundle.json that is not JSON, fails the bundle schema or
 * no longer hashes to its version) is listed under `problems` with the
 * reason, never crashes the listing and is never promotable (promote reads
 * the bundle first). Storage trouble is not damage: it fails the listing, so
 * a retry can help.
 */

/** One model as the listings show it. */
export interface ModelSummary {
  version: string;
  family: string;
  roc_auc: number;
  cv_roc_auc: Record<string, number> | null;
  tiers: { high: number; medium: number };
  training_rows: number | null;
  created: string;
  champion: boolean;
  /** The gate's sentence stored with the bundle (evaluation.json), when there is one. */
  decision: string | null;
}

/** A bundle.json that is present but cannot be used, and why (one sentence). */
export interface DamagedModel {
  version: string;
  error: string;
}

/** The models listing: the champion pointer, the usable bundles and the damaged ones. */
export interface ModelListing {
  champion: ChampionPointer | null;
  models: ModelSummary[];
  problems: DamagedModel[];
}

const numberRecord = z.record(z.string(), z.number());

/** The listing line of a usable bundle. */
async function modelSummary(
  storage: Storage,
  stored: StoredBundle,
  created: Date,
  champion: string | null,
): Promise<ModelSummary> {
  const { version, bundle } = stored;
  const cv = numberRecord.safeParse(bundle.metrics.cv_roc_auc);
  const rows = z.number().safeParse(bundle.training.training_rows);
  const evaluation = await readView(storage, modelSideObject(version, EVALUATION_FILE), evaluationView);
  return {
    version,
    family: bundle.model.family,
    roc_auc: bundle.metrics.roc_auc,
    cv_roc_auc: cv.success ? cv.data : null,
    tiers: bundle.tiers,
    training_rows: rows.success ? rows.data : null,
    created: created.toISOString(),
    champion: champion === version,
    decision: evaluation?.reason ?? null,
  };
}

/** Every complete bundle (oldest first) with its metrics, the champion pointer, and the damaged bundles. */
export async function listModels(storage: Storage): Promise<ModelListing> {
  const champion = await readChampion(storage);
  const models: ModelSummary[] = [];
  const problems: DamagedModel[] = [];
  for (const { version, updated } of await listBundleVersions(storage)) {
    let stored: StoredBundle;
    try {
      stored = await readBundle(storage, version);
    } catch (error) {
      // Removed between list and read: no longer complete, so not listed.
      if (error instanceof NotFoundError) continue;
      // One damaged bundle must not hide the others.
      if (error instanceof InputError) {
        problems.push({ version, error: error.message });
        continue;
      }
      throw error;
    }
    models.push(await modelSummary(storage, stored, updated, champion?.pointer.version ?? null));
  }
  return { champion: champion?.pointer ?? null, models, problems };
}

/** Refuse text that is not a model version before it becomes part of an object name. */
export function checkModelVersion(version: string): void {
  if (!isModelVersion(version)) throw new InputError(`"${version}" is not a model version (16 hex digits)`);
}

/** At least this many hex digits make a version prefix (as `git` takes a short commit id). */
const MIN_PREFIX = 4;

/**
 * The full version a person means: the version itself, or an unambiguous
 * prefix of one (`promote 4105a4`). Ambiguous: InputError listing the
 * matches; unknown: NotFoundError listing the known versions, newest first.
 */
export async function resolveModelVersion(storage: Storage, text: string): Promise<string> {
  const wanted = text.trim().toLowerCase();
  if (!new RegExp(`^[0-9a-f]{${MIN_PREFIX},16}$`).test(wanted))
    throw new InputError(
      `"${text}" is not a model version (16 hex digits, or the first ${MIN_PREFIX} or more of them)`,
    );
  const known = (await listBundleVersions(storage)).map((v) => v.version).reverse();
  const matches = known.filter((v) => v.startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new InputError(
      `"${text}" is ambiguous: it starts ${matches.length} versions (${matches.join(", ")}); give more digits`,
    );
  const listed = known.slice(0, 10).join(", ");
  throw new NotFoundError(
    known.length === 0
      ? `no model ${text} in ${storage.uri}: there are no models yet (run churn pipeline run or churn train)`
      : `no model ${text} in ${storage.uri}; known versions, newest first: ${listed}${known.length > 10 ? `, ... (${known.length} in all: churn models list)` : ""}`,
  );
}

/** The gate's stored decision on a model (evaluation.json beside its bundle), or null when there is none. */
export async function modelDecision(storage: Storage, version: string): Promise<DecisionDocument | null> {
  const name = modelSideObject(version, EVALUATION_FILE);
  if (!(await storage.stat(name))) return null;
  return parseDocument(decisionDocumentSchema, await storage.readText(name), `${storage.uri}/${name}`);
}

/**
 * One model with the champion pointer and its stored evaluation decision.
 * Unknown: NotFoundError; damaged: InputError with the reason (as listed).
 */
export async function getModel(
  storage: Storage,
  version: string,
): Promise<{ model: ModelSummary; champion: ChampionPointer | null; evaluation: unknown }> {
  checkModelVersion(version);
  const { models, champion, problems } = await listModels(storage);
  const damaged = problems.find((p) => p.version === version);
  if (damaged) throw new InputError(`model ${version} is damaged: ${damaged.error}`);
  const model = models.find((m) => m.version === version);
  if (!model) throw new NotFoundError(`model ${version} does not exist in ${storage.uri}`);
  const evaluation = await readView(storage, modelSideObject(version, EVALUATION_FILE), anyJson);
  return { model, champion, evaluation };
}

/** The evaluation report (lift, calibration, drivers) of the run that produced a model, if one is in the bucket. */
export async function evaluationReport(
  storage: Storage,
  version: string,
  runs: RunRecords = () => listRunRecords(storage),
): Promise<{ run: string; report: unknown } | null> {
  // A model refitted on all rows after the gate was judged as its candidate (training.evaluated_version).
  const judged = await judgedVersion(storage, version);
  for (const run of (await runs()).slice(0, 200)) {
    // The step with both a decision and a metrics report (evaluate's ports) trained and judged this model.
    const step = run.steps.find((s) => s.outputs.decision && s.outputs.report);
    if (!step) continue;
    const decision = await readView(storage, step.outputs.decision!.object, decisionView);
    if (decision?.candidate_version !== version && decision?.candidate_version !== judged) continue;
    const report = await readView(storage, step.outputs.report!.object, anyJson);
    if (report) return { run: run.run_id, report };
  }
  return null;
}

/** The version the gate judged for a refitted bundle (training.evaluated_version), or null. */
async function judgedVersion(storage: Storage, version: string): Promise<string | null> {
  try {
    const judged = (await readBundle(storage, version)).bundle.training.evaluated_version;
    return typeof judged === "string" ? judged : null;
  } catch {
    return null;
  }
}

/** The part of promote's promotion.json that says the decision (absent in runs before issue 18 item 9). */
const promotionView = z.looseObject({ decision: decisionLineSchema });

/**
 * The gate's decision as a run's closing lines show it ("model: ..."), or
 * null when the run did not evaluate: the line promote wrote in this run
 * (decisionLine, the one rule summary.json and the report use too: never a
 * cached run's "there was no champion" on a re-run). A run from before
 * promote wrote it gets the stored sentence, naming the run that decided
 * when this one reused its evaluate step.
 */
export async function runDecisionLine(storage: Storage, record: RunRecord): Promise<string | null> {
  const step = record.steps.find((s) => s.name === "evaluate" && s.outputs.decision);
  if (!step || (step.state !== "succeeded" && step.state !== "cached")) return null;
  const promotion = record.steps.find((s) => s.state === "succeeded" && s.outputs.promotion)?.outputs
    .promotion;
  const said = promotion ? await readView(storage, promotion.object, promotionView) : null;
  if (said) return `model: ${said.decision.text}`;
  const where = step.outputs.decision!.object;
  const decision = parseDocument(
    decisionDocumentSchema,
    await storage.readText(where),
    `${storage.uri}/${where}`,
  );
  const from = step.state === "cached" ? (step.cache?.from?.split("/")[0] ?? null) : null;
  return `model: ${decisionLine({ decision, previousChampion: null, stored: decision.candidate_version, decidedBy: from }).text}`;
}
