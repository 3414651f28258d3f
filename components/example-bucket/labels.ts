import { StringDecoder } from "node:string_decoder";
import { CsvParser } from "../common/csv/parse.js";
import { InputError, UsageError } from "../common/errors.js";
import { csvObject, LABELS_PREFIX, OUTPUT_FILES, stemOf, weekOutputObject } from "../common/layout/index.js";
import type { Storage } from "../common/storage/types.js";
import { CATEGORY_VALUES, churnLogit, type ExampleCustomer, ID_COLUMN } from "./generate.js";
import { createRng } from "./rng.js";

/**
 * `churn init --labels-for weekly/<stem>.csv --campaign-effect 0.3`: the
 * outcomes of an example week as if a campaign had run, so the pipeline's
 * measured effect can be checked against a known truth. Each customer's
 * churn probability is the generator's own (churnLogit, the planted risk the
 * example data was drawn from); customers of the week's published
 * contact-list.csv in group `contact` have it cut by the effect (0.3: by
 * 30%); control and unlisted customers keep it. The outcome is one draw per
 * customer from a stream keyed by seed and id, so the same arguments always
 * write the same labels whatever the row order.
 */

/** The columns the planted risk reads, as the example weekly file names them. */
const RISK_COLUMNS = {
  gender: "Gender",
  education: "Education_Level",
  card: "Card_Category",
  relationships: "Total_Relationship_Count",
  inactive: "Months_Inactive_12_mon",
  contacts: "Contacts_Count_12_mon",
  revolvingBalance: "Total_Revolving_Bal",
  transAmount: "Total_Trans_Amt",
  transCount: "Total_Trans_Ct",
  countChange: "Total_Ct_Chng_Q4_Q1",
} as const;
type RiskField = keyof typeof RISK_COLUMNS;
const CATEGORICAL: Partial<Record<RiskField, readonly string[]>> = {
  gender: CATEGORY_VALUES.Gender!,
  education: CATEGORY_VALUES.Education_Level!,
  card: CATEGORY_VALUES.Card_Category!,
};

/** The labels file's header: the id column, then the outcome (1 churned, 0 stayed). */
export const LABELS_HEADER = `${ID_COLUMN},churned`;

export interface SimulateLabelsOptions {
  /** The scored weekly file, e.g. `weekly/2026-W48.csv`. */
  weekly: string;
  /** Share by which contacted customers' churn probability is cut, in [0, 1]. */
  effect: number;
  seed: number;
  force: boolean;
}

/** One group's simulated customers and the churn the simulation expects among them. */
export interface SimulatedGroup {
  customers: number;
  churned: number;
  /** Mean churn probability without the campaign. */
  mean_probability: number;
}

export interface SimulatedLabels {
  labels_object: string;
  contact_list_object: string;
  rows: number;
  churned: number;
  effect: number;
  contact: SimulatedGroup;
  control: SimulatedGroup;
  /**
   * The truth the pipeline's estimate should find: effect x mean churn
   * probability of the listed customers (the expected control churn rate
   * minus the expected contacted one, for a random split), and `effect` as
   * the relative reduction.
   */
  true_absolute_reduction: number;
  true_relative_reduction: number;
}

async function* textRecords(
  input: AsyncIterable<Uint8Array>,
  source: string,
): AsyncGenerator<{ fields: string[]; line: number }> {
  const out: Array<{ fields: string[]; line: number }> = [];
  const parser = new CsvParser(
    { delimiter: ",", source },
    (fields, line) => {
      if (!(fields.length === 1 && fields[0] === "")) out.push({ fields: [...fields], line });
    },
    (line, _field, reason) => {
      throw new InputError(`${source} line ${line}: ${reason}`);
    },
  );
  const decoder = new StringDecoder("utf8");
  for await (const chunk of input) {
    parser.push(decoder.write(Buffer.from(chunk)));
    yield* out.splice(0);
  }
  parser.push(decoder.end());
  parser.end();
  yield* out.splice(0);
}

/** id -> group of a published contact-list.csv. */
async function readGroups(storage: Storage, object: string): Promise<Map<string, "contact" | "control">> {
  const groups = new Map<string, "contact" | "control">();
  let groupAt = -1;
  for await (const { fields, line } of textRecords(storage.createReadStream(object), object)) {
    if (groupAt < 0) {
      groupAt = fields.indexOf("group");
      if (groupAt < 0 || fields[0] !== "rank")
        throw new InputError(`${object}: the header has no "rank" and "group" columns`);
      continue;
    }
    const group = fields[groupAt];
    if (group !== "contact" && group !== "control")
      throw new InputError(
        `${object} line ${line}, column "group": "${group}" is neither contact nor control`,
      );
    groups.set(fields[1] ?? "", group);
  }
  return groups;
}

/** A customer's values the planted risk needs, from one weekly row; an InputError names row and column. */
function customerOf(fields: readonly string[], at: Record<RiskField, number>, source: string, line: number) {
  const c: Record<string, number> = {};
  for (const key of Object.keys(RISK_COLUMNS) as RiskField[]) {
    const text = (fields[at[key]] ?? "").trim();
    const values = CATEGORICAL[key];
    const value = values ? values.indexOf(text) : text === "" ? Number.NaN : Number(text);
    if (!(value >= 0) || !Number.isFinite(value))
      throw new InputError(
        `${source} line ${line}, column "${RISK_COLUMNS[key]}": "${text}" is not a value the example generator writes`,
      );
    c[key] = value;
  }
  return c as unknown as ExampleCustomer;
}

/** A group's counters while the week is simulated. */
function counter() {
  return { customers: 0, churned: 0, sumP: 0 };
}

/**
 * Writes labels/<stem>.csv for an example week whose contact list was
 * published, with the campaign's effect applied to the contacted customers.
 */
export async function simulateLabels(
  storage: Storage,
  options: SimulateLabelsOptions,
): Promise<SimulatedLabels> {
  if (!(options.effect >= 0 && options.effect <= 1))
    throw new UsageError(`--campaign-effect must be a share between 0 and 1, got ${options.effect}`);
  const stem = stemOf(options.weekly);
  if ((await storage.stat(options.weekly)) === null)
    throw new UsageError(`${storage.uri}/${options.weekly} does not exist`);
  const listObject = weekOutputObject(stem, OUTPUT_FILES.contactList);
  if ((await storage.stat(listObject)) === null)
    throw new UsageError(
      `${storage.uri}/${listObject} does not exist: run the weekly pipeline on ${options.weekly} first (churn pipeline run --weekly ${options.weekly})`,
    );
  const labelsObject = csvObject(LABELS_PREFIX, stem);
  if (!options.force && (await storage.stat(labelsObject)) !== null)
    throw new UsageError(`${storage.uri}/${labelsObject} already exists: pass --force to overwrite it`);
  const groups = await readGroups(storage, listObject);
  const counts = { contact: counter(), control: counter() };
  let at: Record<RiskField, number> | null = null;
  let idAt = -1;
  let rows = 0;
  let churned = 0;
  const lines: string[] = [LABELS_HEADER];
  for await (const { fields, line } of textRecords(
    storage.createReadStream(options.weekly),
    options.weekly,
  )) {
    if (!at) {
      idAt = fields.indexOf(ID_COLUMN);
      const found = Object.fromEntries(
        (Object.keys(RISK_COLUMNS) as RiskField[]).map((k) => [k, fields.indexOf(RISK_COLUMNS[k])]),
      ) as Record<RiskField, number>;
      const missing = [ID_COLUMN, ...Object.values(RISK_COLUMNS)].filter((name) => !fields.includes(name));
      if (missing.length > 0)
        throw new InputError(
          `${options.weekly}: not an example weekly file (no column ${missing.map((m) => `"${m}"`).join(", ")})`,
        );
      at = found;
      continue;
    }
    const id = (fields[idAt] ?? "").trim();
    const p = 1 / (1 + Math.exp(-churnLogit(customerOf(fields, at, options.weekly, line))));
    const group = groups.get(id);
    const effective = group === "contact" ? p * (1 - options.effect) : p;
    const left = createRng(options.seed, Number(id) || 0, 0x1abe15).next() < effective;
    if (group) {
      const g = counts[group];
      g.customers++;
      g.sumP += p;
      if (left) g.churned++;
    }
    rows++;
    if (left) churned++;
    lines.push(`${id},${left ? 1 : 0}`);
  }
  await storage.write(labelsObject, `${lines.join("\n")}\n`, { contentType: "text/csv" });
  const listed = counts.contact.customers + counts.control.customers;
  const meanListed = listed ? (counts.contact.sumP + counts.control.sumP) / listed : 0;
  const group = (g: ReturnType<typeof counter>): SimulatedGroup => ({
    customers: g.customers,
    churned: g.churned,
    mean_probability: g.customers ? Math.round((g.sumP / g.customers) * 1e6) / 1e6 : 0,
  });
  return {
    labels_object: labelsObject,
    contact_list_object: listObject,
    rows,
    churned,
    effect: options.effect,
    contact: group(counts.contact),
    control: group(counts.control),
    true_absolute_reduction: Math.round(options.effect * meanListed * 1e6) / 1e6,
    true_relative_reduction: options.effect,
  };
}
