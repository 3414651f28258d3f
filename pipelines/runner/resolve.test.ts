import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, promote, writeBundle } from "../../components/common/bundle/index.js";
import type { OutputDoc } from "../../components/common/component/spec.js";
import { ChurnError, GateRefusedError } from "../../components/common/errors.js";
import { stemUnder } from "../../components/common/layout/index.js";
import { parseDatasetSchema } from "../../components/common/schema/parse.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import type { StepDefinition } from "../dag.js";
import { bundleSchemaObject, ObjectHasher, resolveInputs } from "./resolve.js";

let dir: string;
let storage: Storage;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "resolve-"));
  storage = await openStorage(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const step = (inputs: StepDefinition["inputs"]): StepDefinition => ({
  name: "s",
  component: "c",
  description: "",
  inputs,
});
const doc = (outputs: OutputDoc["outputs"]): OutputDoc => ({
  version: 1,
  component: "c",
  run: "r",
  step: "up",
  outputs,
  counts: {},
  timings: { startedAt: "", finishedAt: "", seconds: 0 },
});
const resolve = (s: StepDefinition, upstream = new Map<string, OutputDoc>()) =>
  resolveInputs(s, { storage, hasher: new ObjectHasher(storage), trigger: null, upstream });

describe("stemUnder", () => {
  it.each([
    ["weekly/2026-W48.csv", "weekly/", "2026-W48"],
    ["weekly/2026-W48.CSV.gz", "weekly/", "2026-W48"],
    ["labels/w.1.csv", "labels/", "w.1"],
    ["output/w1/scores.csv", "output/", "w1"],
  ])("%s under %s is %s", (name, prefix, stem) => {
    expect(stemUnder(name, prefix)).toBe(stem);
  });
});

describe("resolveInputs", () => {
  it("withStemIn keeps only the objects whose stem also exists under the other prefix", async () => {
    for (const name of [
      "weekly/w1.csv",
      "weekly/w2.csv.gz",
      "weekly/w3.csv",
      "labels/w2.csv",
      "labels/w3.csv",
    ])
      await storage.write(name, "id\n1\n");
    const inputs = await resolve(
      step({ weekly: { prefix: "weekly/", pattern: "\\.csv(\\.gz)?$", withStemIn: "labels/" } }),
    );
    expect(inputs.weekly!.map((r) => r.object)).toEqual(["weekly/w2.csv.gz", "weekly/w3.csv"]);
  });

  it("an optional prefix with no match is an empty port; a required one is an error", async () => {
    const inputs = await resolve(step({ labels: { prefix: "labels/", optional: true } }));
    expect(inputs.labels).toEqual([]);
    await expect(resolve(step({ data: { prefix: "input/" } }))).rejects.toThrow(/no objects under/);
  });

  it("an optional step output the upstream step did not write leaves the port out", async () => {
    await storage.write("runs/r/x.csv", "a\n");
    const upstream = new Map([["up", doc({})]]);
    const inputs = await resolve(step({ rows: { step: "up", output: "rows", optional: true } }), upstream);
    expect(inputs).toEqual({});
    await expect(resolve(step({ rows: { step: "up", output: "rows" } }), upstream)).rejects.toThrow(
      ChurnError,
    );
  });

  it("an optional step output that exists is resolved like any other", async () => {
    const sha = "a".repeat(64);
    const upstream = new Map([["up", doc({ rows: { object: "runs/r/rows.csv", sha256: sha } })]]);
    const inputs = await resolve(step({ rows: { step: "up", output: "rows", optional: true } }), upstream);
    expect(inputs.rows).toEqual([{ object: "runs/r/rows.csv", sha256: sha }]);
  });

  it("championSchema is the champion's recorded schema as a schema.json beside its bundle, written once", async () => {
    await expect(resolve(step({ schema: { championSchema: true } }))).rejects.toThrow(GateRefusedError);
    await expect(resolve(step({ schema: { championSchema: true } }))).rejects.toThrow(
      /step s: .* has no champion model to score with/,
    );
    const schema = {
      version: 1,
      columns: [{ name: "id", type: "categorical", role: "id", missingTokens: [] }],
      idColumn: "id",
      generatedId: false,
      source: { delimiter: ",", encoding: "utf-8", decimal: ".", gzip: false },
    };
    const { version } = await writeBundle(storage, {
      format: BUNDLE_FORMAT,
      schema,
      transform: {},
      model: { family: "logistic" },
      calibration: null,
      tiers: { high: 0.5, medium: 0.2 },
      metrics: { roc_auc: 0.9 },
      training: {},
    });
    await promote(storage, version, "test");
    const [ref] = (await resolve(step({ schema: { championSchema: true } }))).schema!;
    expect(ref!.object).toBe(bundleSchemaObject(version));
    // What ingest reads with it: a dataset schema equal to the one in the bundle.
    expect(parseDatasetSchema(await storage.readText(ref!.object), ref!.object)).toEqual(schema);
    const written = (await storage.stat(ref!.object))!.generation;
    const [again] = (await resolve(step({ schema: { championSchema: true } }))).schema!;
    expect(again).toEqual(ref);
    expect((await storage.stat(ref!.object))!.generation).toBe(written);
    // A hand-edited copy is put back: the bundle is the source of truth.
    await storage.write(ref!.object, "{}\n");
    const [restored] = (await resolve(step({ schema: { championSchema: true } }))).schema!;
    expect(restored!.sha256).toBe(ref!.sha256);
  });
});
