import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BUNDLE_FORMAT, promote, writeBundle } from "../../components/common/bundle/index.js";
import type { OutputDoc } from "../../components/common/component/spec.js";
import { LIFETIME_VALUES } from "../../components/common/config/schema.js";
import { buildManifest, manifestText } from "../../components/common/documents/manifest.js";
import { ChurnError, ConfigError, GateRefusedError } from "../../components/common/errors.js";
import { sha256Hex } from "../../components/common/hash.js";
import { stemUnder } from "../../components/common/layout/index.js";
import { parseDatasetSchema } from "../../components/common/schema/parse.js";
import { openStorage, type Storage } from "../../components/common/storage/index.js";
import type { PipelineDefinition, StepDefinition } from "../dag.js";
import { bundleSchemaObject, checkLifetimeInputs, ObjectHasher, resolveInputs } from "./resolve.js";

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

describe("the lifetimeOutput input", () => {
  const lifetime = {
    lifetimeOutput: "customers",
    when: (config) => config.campaign.value_column === LIFETIME_VALUES,
    because: "the test config asks for it",
  } satisfies StepDefinition["inputs"][string];
  const contactList = step({ config: { object: "churn.yaml" }, lifetime });
  const pipeline: PipelineDefinition = {
    name: "weekly",
    description: "",
    trigger: { kind: "object", prefix: "weekly/" },
    steps: [contactList],
  };
  const config = (valueColumn: string | null) =>
    storage.write("churn.yaml", `id_column: id\ncampaign: {value_column: ${JSON.stringify(valueColumn)}}\n`);
  /** A complete lifetime folder: customers.csv, then its manifest. */
  async function publishLifetime(stem: string, text: string): Promise<void> {
    const info = await storage.write(`output/lifetime/${stem}/customers.csv`, text);
    const manifest = buildManifest(`r-${stem}`, null, [
      { name: "customers.csv", info, sha256: sha256Hex(text) },
    ]);
    await storage.write(`output/lifetime/${stem}/_SUCCESS`, manifestText(manifest));
  }

  it("is absent when the step's churn.yaml does not ask for it, though the bucket has one", async () => {
    await config("balance");
    await publishLifetime("shop", "customer_id,lifetime_value\nc1,10\n");
    expect(await resolve(contactList)).toEqual({
      config: [expect.objectContaining({ object: "churn.yaml" })],
    });
    await expect(checkLifetimeInputs(storage, pipeline)).resolves.toBeUndefined();
  });

  it("is the latest output's customers.csv with its manifest's hash; a newer publish changes it", async () => {
    await config(LIFETIME_VALUES);
    const text = "customer_id,lifetime_value\nc1,10\n";
    await publishLifetime("shop", text);
    const first = (await resolve(contactList)).lifetime!;
    expect(first).toEqual([
      expect.objectContaining({ object: "output/lifetime/shop/customers.csv", sha256: sha256Hex(text) }),
    ]);
    // Published later: its _SUCCESS is the newest.
    await new Promise((r) => setTimeout(r, 20));
    await publishLifetime("shop2", "customer_id,lifetime_value\nc1,11\n");
    const second = (await resolve(contactList)).lifetime!;
    expect(second[0]!.object).toBe("output/lifetime/shop2/customers.csv");
    expect(second[0]!.sha256).not.toBe(first[0]!.sha256);
  });

  it("asked for on a bucket without one: a ConfigError naming the reason and the command, before the run too", async () => {
    await config(LIFETIME_VALUES);
    const message =
      /the test config asks for it, but .* has no complete lifetime output under output\/lifetime\/: run `churn pipeline run lifetime --bucket /;
    await expect(resolve(contactList)).rejects.toThrow(ConfigError);
    await expect(resolve(contactList)).rejects.toThrow(message);
    await expect(checkLifetimeInputs(storage, pipeline)).rejects.toThrow(message);
    // A folder whose publish has not finished (no manifest) does not count.
    await storage.write("output/lifetime/half/customers.csv", "customer_id,lifetime_value\n");
    await expect(checkLifetimeInputs(storage, pipeline)).rejects.toThrow(ConfigError);
  });

  it("a step that reads it without a churn.yaml input is a definition bug (exit 1)", async () => {
    await expect(resolve(step({ lifetime }))).rejects.toThrow(/has no config input/);
  });
});
