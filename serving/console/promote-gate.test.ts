import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUNDLE_FORMAT,
  type Bundle,
  promote,
  readChampion,
  writeBundle,
} from "../../components/common/bundle/index.js";
import type { DecisionDocument } from "../../components/common/documents/decision.js";
import { UsageError } from "../../components/common/errors.js";
import { EVALUATION_FILE, modelSideObject } from "../../components/common/layout/index.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import { promoteModel } from "../../pipelines/query/promote.js";
import { createConsoleApp } from "./app.js";

// One promote rule for every surface (issue 18 item 9): a model the quality
// gate refused becomes the champion only when forced, in the console as on
// the CLI (the CLI side is in test/operator-cli.test.ts).

let dir: string;
let storage: Storage;
let champion: string;
let refused: string;

function bundle(rocAuc: number): Bundle {
  return {
    format: BUNDLE_FORMAT,
    schema: {},
    transform: {},
    model: { family: "logistic" },
    calibration: null,
    tiers: { high: 0.6, medium: 0.3 },
    metrics: { roc_auc: rocAuc, cv_roc_auc: { logistic: rocAuc } },
    training: { training_rows: 100 },
  };
}

function keepChampion(candidate: string, championVersion: string): DecisionDocument {
  return {
    action: "keep-champion",
    promoted: false,
    reason: `Champion ${championVersion} stays: it reached ROC-AUC 0.9000, better than logistic's 0.8000.`,
    candidate: { name: "logistic", rocAuc: 0.8 },
    champion: { name: `champion ${championVersion}`, rocAuc: 0.9 },
    minRocAuc: 0.7,
    candidate_version: candidate,
    champion_version: championVersion,
    holdout_rows: 400,
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "promote-gate-"));
  storage = await openStorage(dir);
  champion = (await writeBundle(storage, bundle(0.9))).version;
  refused = (await writeBundle(storage, bundle(0.8))).version;
  await promote(storage, champion, "first");
  await storage.write(
    modelSideObject(refused, EVALUATION_FILE),
    JSON.stringify(keepChampion(refused, champion)),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("promoteModel (the shared rule)", () => {
  it("refuses a model the gate refused without force, naming the gate's reason and how to force", async () => {
    const attempt = promoteModel(storage, refused, { reason: "r", forceHint: "Pass --force" });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(
      /not promoted by the quality gate: Champion .* stays.*Pass --force/,
    );
    expect((await readChampion(storage))?.pointer.version).toBe(champion);
  });
});

describe("the console's promote route", () => {
  const app = () => createConsoleApp({ storage, configCacheMs: 0, allowChanges: true });

  it("answers 400 with the gate's reason for a refused model, and promotes it with force", async () => {
    const plain = await app().inject({
      method: "POST",
      url: `/api/models/${refused}/promote`,
      payload: { reason: "looks fine" },
    });
    expect(plain.statusCode, plain.body).toBe(400);
    expect(plain.json().error).toMatch(/not promoted by the quality gate/);
    expect(plain.json().error).toContain('Send {"force": true}');
    expect((await readChampion(storage))?.pointer.version).toBe(champion);

    const notBoolean = await app().inject({
      method: "POST",
      url: `/api/models/${refused}/promote`,
      payload: { force: "yes" },
    });
    expect(notBoolean.statusCode).toBe(422);

    const forced = await app().inject({
      method: "POST",
      url: `/api/models/${refused}/promote`,
      payload: { reason: "overridden", force: true },
    });
    expect(forced.statusCode, forced.body).toBe(200);
    expect((await readChampion(storage))?.pointer).toMatchObject({ version: refused, reason: "overridden" });
  });

  it("still promotes a model without a refusing decision without force", async () => {
    const back = await app().inject({ method: "POST", url: `/api/models/${champion}/promote`, payload: {} });
    expect(back.statusCode, back.body).toBe(200);
    expect((await readChampion(storage))?.pointer.version).toBe(champion);
  });
});
