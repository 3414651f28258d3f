/**
 * Every kind of stored document goes through the one parser (parseDocument):
 * a malformed copy of each, stored where the pipeline keeps it, is refused
 * with an InputError that names the object, never read as if it were valid
 * and never a bare JSON or zod error. Two malformed copies per kind: text cut
 * off mid-document (what a half-written or hand-edited file looks like) and a
 * document of the wrong shape. (A run's lease and a cache entry are read by
 * the same parser but on purpose count as absent when unreadable: an expired
 * lease, a cache miss. Their own tests cover that.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readBundle } from "../components/common/bundle/bundle.js";
import { readChampion } from "../components/common/bundle/champion.js";
import { TrainedIdSet } from "../components/common/bundle/trained-ids.js";
import { parseLatest } from "../components/common/documents/latest.js";
import { parseManifest } from "../components/common/documents/manifest.js";
import { InputError } from "../components/common/errors.js";
import {
  bundleObject,
  CHAMPION_OBJECT,
  EVALUATION_FILE,
  EVALUATION_REPORT_FILE,
  modelSideObject,
} from "../components/common/layout/models.js";
import { campaignWeekObject, REALISED_OBJECT } from "../components/common/layout/names.js";
import { stepOutputObject } from "../components/common/layout/runs.js";
import { updateRealised } from "../components/common/monitoring/realised.js";
import { parseDatasetSchema } from "../components/common/schema/parse.js";
import { openStorage, type Storage } from "../components/common/storage/index.js";
import { readStoredEvaluation } from "../components/evaluate/scoring.js";
import { parseCalibrator } from "../components/models/calibration.js";
import { parseFeatureTransform } from "../components/models/features/schema.js";
import { parseLifetimeModel } from "../components/models/lifetime/params.js";
import { parseLogisticModel } from "../components/models/logistic/logistic.js";
import { parseMlpModel } from "../components/models/mlp/mlp.js";
import { updateCampaignEffect } from "../components/monitor/campaign-outcomes.js";
import { modelDecision } from "./query/models.js";
import { parseRunRecord } from "./runner/records.js";
import { readOutputDoc } from "./runner/state.js";
import { testRunRecord } from "./runner/testing/run-record.js";

const VERSION = "0123456789abcdef";
const RUN = "weekly-20261204-000000-abcd";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "stored-documents-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** One document kind: where it is stored, and how the pipeline reads it from there. */
interface DocumentKind {
  kind: string;
  object: string;
  read: (text: string) => Promise<unknown>;
}

/** A kind parsed from text by a parser given the object's name. */
const parsed = (
  kind: string,
  object: string,
  parse: (text: string, where: string) => unknown,
): DocumentKind => ({
  kind,
  object,
  read: async (text) => parse(text, object),
});

/** A kind the pipeline reads from storage: the text is stored at `object` first. */
const stored = (kind: string, object: string, read: () => Promise<unknown>): DocumentKind => ({
  kind,
  object,
  read: async (text) => {
    await storage.write(object, text);
    return read();
  },
});

const kinds: DocumentKind[] = [
  parsed("run record", "runs/r1/run.json", parseRunRecord),
  parsed("publish manifest", "output/2026-W49/_SUCCESS", parseManifest),
  parsed("latest-week pointer", "output/_latest.json", parseLatest),
  parsed("dataset schema", "runs/r1/ingest/schema.json", parseDatasetSchema),
  parsed("trained-id set", modelSideObject(VERSION, "trained-ids.json"), (t, w) => TrainedIdSet.parse(t, w)),
  stored("bundle", bundleObject(VERSION), () => readBundle(storage, VERSION)),
  stored("champion pointer", CHAMPION_OBJECT, () => readChampion(storage)),
  stored("gate decision", modelSideObject(VERSION, EVALUATION_FILE), () => modelDecision(storage, VERSION)),
  stored("stored evaluation", modelSideObject(VERSION, EVALUATION_REPORT_FILE), () =>
    readStoredEvaluation(storage, VERSION),
  ),
  stored("realised-outcomes history", REALISED_OBJECT, () => updateRealised(storage, null)),
  stored("counted campaign week", campaignWeekObject("2026-W49"), () => updateCampaignEffect(storage, null)),
  stored("step output", stepOutputObject(RUN, "score"), () => readOutputDoc(storage, RUN, "score")),
  parsed("lifetime model", "models/lifetime/lifetime-0123456789ab.json", parseLifetimeModel),
];

/** Parts of a stored bundle, parsed from the bundle's value (its text is the bundle's, above). */
const bundleParts: [string, (value: unknown, where: string) => unknown][] = [
  ["logistic model", parseLogisticModel],
  ["MLP", parseMlpModel],
  ["feature transform", parseFeatureTransform],
  ["calibrator", parseCalibrator],
];

/** A real document cut off mid-way: a run record is the copy, as every kind is a JSON object. */
const cutOff = (): string => {
  const text = JSON.stringify(testRunRecord({ bucket: "file:///b" }));
  return text.slice(0, Math.floor(text.length / 2));
};

describe("a malformed copy of every stored document kind", () => {
  it.each(kinds)("$kind: cut-off text is an InputError naming $object", async ({ object, read }) => {
    const error = await read(cutOff()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toContain(object);
    expect((error as Error).message).toContain("is not valid JSON");
  });

  it.each(kinds)(
    "$kind: a document of the wrong shape is an InputError naming $object",
    async ({ object, read }) => {
      const error = await read(JSON.stringify({ version: "one", steps: 3 })).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(InputError);
      // `where: problem; ...` from the one parser, with at least one field path.
      expect((error as Error).message).toContain(object);
      expect((error as Error).message).toMatch(/ is not a valid [\w /-]+: \S+: /);
    },
  );

  it.each(bundleParts)(
    "a bundle's %s of the wrong shape is an InputError naming where it is",
    (kind, parse) => {
      expect(() => parse({ version: "one", steps: 3 }, "models/0123456789abcdef/bundle.json: model")).toThrow(
        new RegExp(`^models/0123456789abcdef/bundle\\.json: model is not a valid ${kind}: \\S+: `),
      );
    },
  );
});
