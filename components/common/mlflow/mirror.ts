import { z } from "zod";
import { readBundle, type StoredBundle } from "../bundle/index.js";
import { parseDocument } from "../documents/parse.js";
import { TransientError } from "../errors.js";
import { bundleObject } from "../layout/index.js";
import type { Storage } from "../storage/index.js";
import type { MlflowClient, MlflowModelVersion, MlflowRun } from "./client.js";

/** Tag naming the churn bundle version on MLflow runs and model versions (the idempotency key). */
export const VERSION_TAG = "churn.model_version";
/** The alias that mirrors models/champion (DESIGN). */
export const CHAMPION_ALIAS = "champion";

/** What is known about a training run beyond the bundle itself. */
export interface TrainingRunInfo {
  /** The pipeline run that trained it, e.g. `r-0123...`. */
  pipelineRun?: string;
  /** The evaluation report (evaluate's decision.json), logged as an artifact and as metrics. */
  evaluation?: Record<string, unknown>;
}

function flatten(prefix: string, value: unknown, out: Record<string, unknown>, depth = 0): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && depth < 3) {
    for (const [k, v] of Object.entries(value)) flatten(prefix ? `${prefix}.${k}` : k, v, out, depth + 1);
  } else {
    out[prefix] = value;
  }
}

/** Numeric leaves of a document as MLflow metrics (`a.b.c` keys). */
export function numericLeaves(prefix: string, value: unknown): Record<string, number> {
  const flat: Record<string, unknown> = {};
  flatten(prefix, value, flat);
  return Object.fromEntries(
    Object.entries(flat).filter(
      (e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1]),
    ),
  );
}

/** Scalar and array leaves of a document as MLflow params (strings). */
export function paramLeaves(prefix: string, value: unknown): Record<string, string> {
  const flat: Record<string, unknown> = {};
  flatten(prefix, value, flat);
  return Object.fromEntries(
    Object.entries(flat)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/**
 * Mirrors the bucket's models into MLflow: each bundle becomes a tracking run
 * (params, metrics, evaluation report and bundle as artifacts) and a version
 * of the registered model; the `champion` alias follows models/champion. The
 * bucket stays authoritative; every method is idempotent per bundle version
 * (found again through the VERSION_TAG), so retries and redeliveries are safe.
 */
export class MlflowMirror {
  constructor(
    private readonly client: MlflowClient,
    private readonly storage: Storage,
    private readonly modelName: string,
  ) {}

  /** The MLflow tracking run logged for a bundle version, or null. */
  async findRun(version: string): Promise<MlflowRun | null> {
    const experiment = await this.client.ensureExperiment(this.modelName);
    const runs = await this.client.searchRuns(experiment, `tags.\`${VERSION_TAG}\` = '${version}'`);
    return runs.find((r) => r.info.status === "FINISHED") ?? null;
  }

  /** The registered model version mirroring a bundle version, or null. */
  async findModelVersion(version: string): Promise<MlflowModelVersion | null> {
    const all = await this.client.modelVersions(this.modelName);
    return all.find((mv) => mv.tags?.some((t) => t.key === VERSION_TAG && t.value === version)) ?? null;
  }

  /** Log a training run for a bundle (once per version); returns the MLflow run. */
  async logTrainingRun(stored: StoredBundle, info: TrainingRunInfo = {}): Promise<MlflowRun> {
    const existing = await this.findRun(stored.version);
    if (existing) return existing;
    const experiment = await this.client.ensureExperiment(this.modelName);
    const { bundle } = stored;
    const run = await this.client.createRun(experiment, `${bundle.model.family}-${stored.version}`, {
      [VERSION_TAG]: stored.version,
      "churn.bucket": this.storage.uri,
      ...(info.pipelineRun ? { "churn.pipeline_run": info.pipelineRun } : {}),
    });
    const runId = run.info.run_id;
    try {
      const params = {
        family: bundle.model.family,
        ...paramLeaves("training", bundle.training),
        ...paramLeaves("tiers", bundle.tiers),
      };
      const metrics = {
        ...numericLeaves("", bundle.metrics),
        ...(info.evaluation ? numericLeaves("holdout", info.evaluation) : {}),
      };
      await this.client.logBatch(runId, params, metrics);
      await this.client.logArtifact(
        run,
        "bundle/bundle.json",
        await this.storage.readBytes(bundleObject(stored.version)),
        "application/json",
      );
      if (info.evaluation) {
        await this.client.logArtifact(
          run,
          "evaluation.json",
          `${JSON.stringify(info.evaluation, null, 2)}\n`,
          "application/json",
        );
      }
      await this.client.finishRun(runId);
    } catch (error) {
      // A half-logged run is marked FAILED so findRun skips it and a retry logs afresh.
      await this.client.finishRun(runId, "FAILED").catch(() => undefined);
      throw error;
    }
    return this.client.getRun(runId);
  }

  /** Register a bundle as a model version (logging its run first); idempotent. */
  async registerBundle(storage: Storage, stored: StoredBundle, info: TrainingRunInfo = {}): Promise<string> {
    if (storage.uri !== this.storage.uri) {
      throw new Error(`this MLflow mirror serves ${this.storage.uri}, not ${storage.uri}`);
    }
    await this.client.ensureRegisteredModel(this.modelName);
    const existing = await this.findModelVersion(stored.version);
    if (existing) return `MLflow ${this.modelName} v${existing.version} already mirrors ${stored.version}`;
    let evaluation = info.evaluation;
    if (!evaluation) {
      const side = `models/${stored.version}/evaluation.json`;
      if (await this.storage.stat(side))
        evaluation = parseDocument(
          z.record(z.string(), z.unknown()),
          await this.storage.readText(side),
          side,
        );
    }
    const run = await this.logTrainingRun(stored, { ...info, evaluation });
    const mv = await this.client.createModelVersion(
      this.modelName,
      `${run.info.artifact_uri}/bundle`,
      run.info.run_id,
      {
        [VERSION_TAG]: stored.version,
        "churn.bundle": `${this.storage.uri}/${bundleObject(stored.version)}`,
      },
      `churn bundle ${stored.version} (${stored.bundle.model.family}, ROC-AUC ${stored.bundle.metrics.roc_auc.toFixed(4)})`,
    );
    return `registered ${stored.version} as MLflow ${this.modelName} v${mv.version}`;
  }

  /** Point the `champion` alias at the model version mirroring `version` (registering it if needed). */
  async setChampion(version: string): Promise<string> {
    let mv = await this.findModelVersion(version);
    if (!mv) {
      await this.registerBundle(this.storage, await readBundle(this.storage, version));
      mv = await this.findModelVersion(version);
      if (!mv) throw new TransientError(`MLflow did not list the version just registered for ${version}`);
    }
    const current = await this.client.getAlias(this.modelName, CHAMPION_ALIAS);
    if (current?.version === mv.version) return `MLflow alias ${CHAMPION_ALIAS} already at v${mv.version}`;
    await this.client.setAlias(this.modelName, CHAMPION_ALIAS, mv.version);
    return `MLflow alias ${CHAMPION_ALIAS} → ${this.modelName} v${mv.version} (${version})`;
  }
}
