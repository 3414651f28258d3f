/**
 * Minimal loader for the three labelled reference data sets and their
 * split.csv, shared by the GBDT accuracy test and benchmarks. The files have
 * no quoted commas (checked here: every line must have the header's field
 * count), so a plain split is enough. Encoding is deliberately simple:
 * numeric columns as they are, text columns one-hot in sorted level order.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DATASETS_ROOT, hasDatasets } from "../test/support/datasets.js";

/** Where the shared data sets live (the one rule: test/support/datasets.ts). */
export const DATASETS_DIR = DATASETS_ROOT;

/** How to read one labelled data set. */
export interface DatasetSpec {
  name: string;
  file: string;
  /** Id column matched against split.csv keys; null = 1-based row number. */
  id: string | null;
  label: string;
  positive: string;
  /** Columns that must not become features (id-like, personal, leaking). */
  drop: (column: string) => boolean;
  /** README reference ROC-AUC of gbm, and the best of the three references. */
  refGbm: number;
  refBest: number;
}

/** The three labelled sets of datasets/README.md. */
export const DATASETS: DatasetSpec[] = [
  {
    name: "BankChurners",
    file: "bankchurners/BankChurners.csv",
    id: "CLIENTNUM",
    label: "Attrition_Flag",
    positive: "Attrited Customer",
    drop: (c) => c.startsWith("Naive_Bayes_Classifier"),
    refGbm: 0.9927,
    refBest: 0.9927,
  },
  {
    name: "Churn_Modelling",
    file: "bankchurn-modelling/Churn_Modelling.csv",
    id: "CustomerId",
    label: "Exited",
    positive: "1",
    drop: (c) => c === "RowNumber" || c === "Surname",
    refGbm: 0.8684,
    refBest: 0.8684,
  },
  {
    name: "Iranian",
    file: "iranian-churn/Customer_Churn.csv",
    id: null,
    label: "Churn",
    positive: "1",
    drop: () => false,
    refGbm: 0.9833,
    refBest: 0.9864,
  },
];

/** One split of an encoded data set. */
export interface EncodedSplit {
  x: Float64Array;
  y: Float64Array;
  rows: number;
}

/** An encoded data set. */
export interface EncodedDataset {
  spec: DatasetSpec;
  featureNames: string[];
  numFeatures: number;
  train: EncodedSplit;
  test: EncodedSplit;
}

function readTable(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const unquote = (s: string) => (s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s);
  const header = lines[0].split(",").map(unquote);
  const rows = lines.slice(1).map((line, i) => {
    const cells = line.split(",").map(unquote);
    if (cells.length !== header.length) {
      throw new Error(`${path} line ${i + 2}: ${cells.length} fields, header has ${header.length}`);
    }
    return cells;
  });
  return { header, rows };
}

/** True when every labelled set is present. */
export function datasetsAvailable(): boolean {
  return hasDatasets(...DATASETS.map((d) => d.file));
}

/** Loads and encodes one data set, split by its split.csv. */
export function loadDataset(spec: DatasetSpec): EncodedDataset {
  const path = join(DATASETS_DIR, spec.file);
  const { header, rows } = readTable(path);
  const split = readTable(join(path, "..", "split.csv"));
  const splitOf = new Map(split.rows.map((r) => [r[0], r[1]]));
  const labelIdx = header.indexOf(spec.label);
  const idIdx = spec.id === null ? -1 : header.indexOf(spec.id);
  if (labelIdx < 0 || (spec.id !== null && idIdx < 0)) throw new Error(`${path}: id or label column missing`);
  const featureCols = header
    .map((c, i) => [c, i] as const)
    .filter(([c, i]) => i !== labelIdx && i !== idIdx && !spec.drop(c));
  // Per column: numeric if every non-empty value parses, else one-hot over sorted levels.
  const encoders: { names: string[]; enc: (s: string, out: Float64Array, at: number) => void }[] = [];
  for (const [c, i] of featureCols) {
    const numeric = rows.every((r) => r[i] === "" || Number.isFinite(Number(r[i])));
    if (numeric) {
      encoders.push({ names: [c], enc: (s, out, at) => (out[at] = s === "" ? Number.NaN : Number(s)) });
    } else {
      const levels = [...new Set(rows.map((r) => r[i]))].sort();
      encoders.push({
        names: levels.map((l) => `${c}=${l}`),
        enc: (s, out, at) => {
          for (let k = 0; k < levels.length; k++) out[at + k] = s === levels[k] ? 1 : 0;
        },
      });
    }
  }
  const featureNames = encoders.flatMap((e) => e.names);
  const d = featureNames.length;
  const parts: Record<string, number[]> = { train: [], test: [] };
  rows.forEach((r, k) => {
    const key = idIdx < 0 ? String(k + 1) : r[idIdx];
    const s = splitOf.get(key);
    if (s !== "train" && s !== "test") throw new Error(`${path} row ${k + 1}: key ${key} not in split.csv`);
    parts[s].push(k);
  });
  const make = (idx: number[]): EncodedSplit => {
    const x = new Float64Array(idx.length * d);
    const y = new Float64Array(idx.length);
    idx.forEach((rk, j) => {
      const r = rows[rk];
      let at = j * d;
      featureCols.forEach(([, ci], e) => {
        encoders[e].enc(r[ci], x, at);
        at += encoders[e].names.length;
      });
      y[j] = r[labelIdx] === spec.positive ? 1 : 0;
    });
    return { x, y, rows: idx.length };
  };
  return { spec, featureNames, numFeatures: d, train: make(parts.train), test: make(parts.test) };
}

/** ROC-AUC by the rank-sum formula, ties given their average rank. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k]] === 1) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = n - pos;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
