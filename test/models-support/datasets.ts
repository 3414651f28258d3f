import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { hashObject, runStep, writeInputDoc } from "../../components/common/component/run.js";
import { concatBatches } from "../../components/common/data/rows.js";
import { readRowBatches } from "../../components/common/schema/arrow.js";
import type { DatasetSchema, RowBatch } from "../../components/common/schema/types.js";
import { openStorage } from "../../components/common/storage/index.js";
import type { Storage } from "../../components/common/storage/types.js";
import { loadComponent } from "../../components/index.js";
import { DATASETS_ROOT } from "../support/datasets.js";

/**
 * Test support for the model tests: read the shared labelled data sets with
 * the real ingest component (in a temporary bucket outside the repository,
 * never copied into it), and split them with their split.csv.
 */
export { DATASETS_ROOT };

export interface DatasetCase {
  name: string;
  file: string;
  split: string;
  config: Record<string, unknown>;
  /** Best reference model's test ROC-AUC (datasets README). */
  reference: number;
}

export const DATASETS: DatasetCase[] = [
  {
    name: "BankChurners",
    file: "bankchurners/BankChurners.csv",
    split: "bankchurners/split.csv",
    config: {
      id_column: "CLIENTNUM",
      label: { column: "Attrition_Flag", positive: "Attrited Customer" },
      exclude: [
        "Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_Education_Level_Months_Inactive_12_mon_1",
        "Naive_Bayes_Classifier_Attrition_Flag_Card_Category_Contacts_Count_12_mon_Dependent_count_Education_Level_Months_Inactive_12_mon_2",
      ],
    },
    reference: 0.9927,
  },
  {
    name: "Churn_Modelling",
    file: "bankchurn-modelling/Churn_Modelling.csv",
    split: "bankchurn-modelling/split.csv",
    config: {
      id_column: "CustomerId",
      label: { column: "Exited", positive: 1 },
      pii: ["Surname"],
      exclude: ["RowNumber"],
    },
    reference: 0.8684,
  },
  {
    name: "Iranian",
    file: "iranian-churn/Customer_Churn.csv",
    split: "iranian-churn/split.csv",
    config: { generate_id: true, label: { column: "Churn", positive: 1 } },
    reference: 0.9864,
  },
];

/** Every file the labelled data sets need (for describeDatasets). */
export const DATASET_FILES: string[] = DATASETS.flatMap((d) => [d.file, d.split]);

const created: string[] = [];

/** Removes every bucket tempBucket made (call from afterAll). */
export function removeTempBuckets(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temporary file:// bucket with churn.yaml. */
export async function tempBucket(
  config: Record<string, unknown>,
): Promise<{ dir: string; storage: Storage }> {
  const dir = mkdtempSync(join(tmpdir(), "churn-models-"));
  created.push(dir);
  writeFileSync(join(dir, "churn.yaml"), stringify(config));
  return { dir, storage: await openStorage(`file://${dir}`) };
}

/** Run one step of a component on a bucket, as the runner would (input.json, then the step). */
export async function runComponent(
  storage: Storage,
  component: string,
  step: string,
  inputs: Record<string, string[]>,
  parameters: Record<string, unknown> = {},
  run = "r-test",
) {
  const resolved: Record<string, Awaited<ReturnType<typeof hashObject>>[]> = {};
  for (const [port, names] of Object.entries(inputs))
    resolved[port] = await Promise.all(names.map((n) => hashObject(storage, n)));
  await writeInputDoc(storage, { component, run, step, inputs: resolved, parameters });
  return runStep(storage, run, step, { load: loadComponent, expectComponent: component });
}

/** Reads rows.arrow of a step into one batch. */
export async function readRows(
  storage: Storage,
  object: string,
): Promise<{ batch: RowBatch; schema: DatasetSchema }> {
  let schema: DatasetSchema | null = null;
  const batches: RowBatch[] = [];
  for await (const b of readRowBatches(storage.createReadStream(object), (s) => {
    schema = s;
  }))
    batches.push(b);
  return { batch: concatBatches(batches), schema: schema! };
}

/** Ingests a data set with the real ingest component; returns the bucket and the typed rows. */
export async function ingestDataset(ds: DatasetCase, extraConfig: Record<string, unknown> = {}) {
  const config = { ...ds.config, ...extraConfig };
  const { dir, storage } = await tempBucket(config);
  mkdirSync(join(dir, "input"));
  copyFileSync(join(DATASETS_ROOT, ds.file), join(dir, "input", "history.csv"));
  const { output } = await runComponent(
    storage,
    "ingest",
    "ingest-history",
    { data: ["input/history.csv"], config: ["churn.yaml"] },
    { mode: "training" },
  );
  const rows = await readRows(storage, output.outputs.rows!.object);
  return { dir, storage, ...rows };
}

/** Row indices of the train and test rows of split.csv (keys are ids, or 1-based row numbers). */
export function splitIndices(ds: DatasetCase, batch: RowBatch): { train: number[]; test: number[] } {
  const text = readFileSync(join(DATASETS_ROOT, ds.split), "utf8");
  const side = new Map<string, string>();
  for (const line of text.trim().split(/\r?\n/).slice(1)) {
    const [key, split] = line.split(",");
    side.set(key!.trim(), split!.trim());
  }
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < batch.numRows; i++) {
    const key = ds.config.generate_id ? String(batch.lines[i]! - 1) : batch.ids[i]!;
    const s = side.get(key);
    if (s === "train") train.push(i);
    else if (s === "test") test.push(i);
    else throw new Error(`${ds.name}: row ${i} (key ${key}) is not in split.csv`);
  }
  return { train, test };
}
