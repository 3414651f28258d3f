import { createRng, cumulative, type Rng } from "./rng.js";

/**
 * Synthetic bank customers shaped like the BankChurners data set (Kaggle
 * "Credit Card customers", ../shared/datasets/bankchurners): the same columns
 * in the same order, the same category values, marginal distributions and
 * correlations close to the real ones, and a churn label drawn from a planted
 * non-linear risk function, so a good model reaches ROC-AUC 0.85-0.95 while a
 * linear one stays clearly below.
 *
 * The real file's last two columns (`Naive_Bayes_Classifier_...`) are another
 * model's outputs computed from the label; they are deliberately not
 * generated: an example should teach a clean setup, and a leak planted on
 * purpose would only make the demo model look perfect.
 */

/** Columns of a labelled file: the BankChurners header without the two leaking columns. */
export const EXAMPLE_COLUMNS = [
  "CLIENTNUM",
  "Attrition_Flag",
  "Customer_Age",
  "Gender",
  "Dependent_count",
  "Education_Level",
  "Marital_Status",
  "Income_Category",
  "Card_Category",
  "Months_on_book",
  "Total_Relationship_Count",
  "Months_Inactive_12_mon",
  "Contacts_Count_12_mon",
  "Credit_Limit",
  "Total_Revolving_Bal",
  "Avg_Open_To_Buy",
  "Total_Amt_Chng_Q4_Q1",
  "Total_Trans_Amt",
  "Total_Trans_Ct",
  "Total_Ct_Chng_Q4_Q1",
  "Avg_Utilization_Ratio",
] as const;

export const ID_COLUMN = "CLIENTNUM";
export const LABEL_COLUMN = "Attrition_Flag";
export const POSITIVE_LABEL = "Attrited Customer";
export const NEGATIVE_LABEL = "Existing Customer";

/** Columns of an unlabelled (weekly) file. */
export const WEEKLY_COLUMNS = EXAMPLE_COLUMNS.filter((c) => c !== LABEL_COLUMN);

// Category values and weights counted in the real file (10,127 rows).
const GENDERS = ["F", "M"] as const;
const EDUCATION = [
  "Graduate",
  "High School",
  "Unknown",
  "Uneducated",
  "College",
  "Post-Graduate",
  "Doctorate",
];
const EDUCATION_W = cumulative([3128, 2013, 1519, 1487, 1013, 516, 451]);
const MARITAL = ["Married", "Single", "Unknown", "Divorced"];
const MARITAL_W = cumulative([4687, 3943, 749, 748]);
const INCOME = ["Less than $40K", "$40K - $60K", "$60K - $80K", "$80K - $120K", "$120K +", "Unknown"];
// In the real file women only appear in the two lowest bands (or Unknown); keep that quirk.
const INCOME_MALE_W = cumulative([277, 776, 1402, 1535, 727]);
const INCOME_FEMALE_W = cumulative([3284, 1014]);
const INCOME_UNKNOWN_SHARE = { F: 1060 / 5358, M: 52 / 4769 };
const CARDS = ["Blue", "Silver", "Gold", "Platinum"];
const CARD_W = cumulative([9436, 555, 116, 20]);
const DEPENDENTS_W = cumulative([904, 1838, 2655, 2732, 1574, 424]);
const RELATIONSHIP_W = cumulative([910, 1243, 2305, 1912, 1891, 1866]); // 1..6
const INACTIVE_W = cumulative([29, 2233, 3282, 3846, 435, 178, 124]); // 0..6
const CONTACTS_W = cumulative([399, 1499, 3227, 3380, 1392, 176, 54]); // 0..6

/** Every value each categorical column takes (for tests and docs). */
export const CATEGORY_VALUES: Record<string, readonly string[]> = {
  Attrition_Flag: [NEGATIVE_LABEL, POSITIVE_LABEL],
  Gender: GENDERS,
  Education_Level: EDUCATION,
  Marital_Status: MARITAL,
  Income_Category: INCOME,
  Card_Category: CARDS,
};

// Credit limits: lognormal around a median per (true) income band, lifted for
// premium cards, clipped to the real file's floor and ceiling (each ~5% of rows).
const LIMIT_MEDIAN = [2900, 3900, 7800, 12500, 17500];
const CARD_LIMIT_FACTOR = [1, 4.5, 6, 7];
const LIMIT_FLOOR = 1438.3;
const LIMIT_CAP = 34516;
const BALANCE_CAP = 2517;

/** Largest number of customers one bucket can hold: ids are a permutation of 2^27 values. */
export const MAX_EXAMPLE_ROWS = 2 ** 27;
const ID_BASE = 700_000_000;
const ID_MASK = MAX_EXAMPLE_ROWS - 1;

/**
 * A 9-digit CLIENTNUM for a global row index: an invertible integer hash on
 * 27 bits (xor-shift and odd multiplications are bijections mod 2^27), so
 * distinct indexes always give distinct ids, and ids look random, not serial.
 */
export function exampleId(index: number, seed: number): number {
  let x = (index ^ Math.imul(seed | 0, 0x2c1b3c6d)) & ID_MASK;
  x ^= x >>> 14;
  x = Math.imul(x, 0x0456_b8e5 | 1) & ID_MASK;
  x ^= x >>> 11;
  x = Math.imul(x, 0x0299_f3a7 | 1) & ID_MASK;
  x ^= x >>> 15;
  return ID_BASE + x;
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Fixed 3-decimal rounding printed without trailing zeros, like the real file ("0.061", "0"). */
function dec3(x: number): string {
  return String(Math.round(x * 1000) / 1000);
}

/** One synthetic customer's raw values (numbers unrounded where the file prints decimals). */
export interface ExampleCustomer {
  id: number;
  age: number;
  gender: 0 | 1;
  dependents: number;
  education: number;
  marital: number;
  income: number;
  card: number;
  monthsOnBook: number;
  relationships: number;
  inactive: number;
  contacts: number;
  creditLimit: number;
  revolvingBalance: number;
  amountChange: number;
  transAmount: number;
  transCount: number;
  countChange: number;
  /** The planted churn probability (the Bayes-optimal score). */
  churnProbability: number;
  churned: boolean;
}

/**
 * The planted churn risk, in log-odds. Thresholds, a U shape and interactions
 * (the kind of structure the real data shows) so that trees beat a linear
 * model. Each term has a story a marketer would recognise.
 */
export function churnLogit(c: ExampleCustomer): number {
  let s = -5.2;
  // Disengaging customers: a count below ~55 a year is the strongest sign,
  // but the very quietest have a card they keep "for emergencies".
  if (c.transCount < 55) s += 3.11;
  if (c.transCount < 28) s -= 1.75;
  // Revolving balance: zero (card not used for credit) or maxed out (moving debt elsewhere).
  if (c.revolvingBalance === 0) s += 2.16;
  else if (c.revolvingBalance >= 2300) s += 1.35;
  // Service trouble: many contacts while inactive.
  if (c.contacts >= 4 && c.inactive >= 3) s += 2.97;
  if (c.contacts === 6) s += 2.02;
  // Activity falling from Q1 to Q4 among the not-very-active.
  if (c.countChange < 0.55 && c.transCount < 75) s += 2.02;
  // Few products and modest use: nothing ties them to the bank.
  if (c.relationships <= 2 && c.transCount < 70) s += 1.48;
  // Active but small spenders moved their big purchases to another card.
  if (c.transAmount < 2300 && c.transCount >= 48) s += 1.62;
  if (c.transAmount > 11000) s -= 2.02;
  // Mild demographic effects, as in the real file.
  if (c.education === 6) s += 0.41;
  if (c.card >= 2) s += 0.41;
  if (c.gender === 0) s += 0.2;
  return s;
}

/** Draw one customer from the model. `index` is the global row index (it decides the id). */
export function drawCustomer(rng: Rng, index: number, seed: number): ExampleCustomer {
  const gender: 0 | 1 = rng.next() < 5358 / 10127 ? 0 : 1;
  const age = Math.round(clamp(46.3 + 8 * rng.normal(), 26, 73));
  const dependents = rng.pick(DEPENDENTS_W);
  const education = rng.pick(EDUCATION_W);
  const marital = rng.pick(MARITAL_W);
  const trueIncome = gender === 0 ? rng.pick(INCOME_FEMALE_W) : rng.pick(INCOME_MALE_W);
  const income = rng.next() < INCOME_UNKNOWN_SHARE[gender === 0 ? "F" : "M"] ? 5 : trueIncome;
  const card = rng.pick(CARD_W);
  // Tenure follows age (r ~ 0.79 in the real file); about a fifth of the real
  // rows carry exactly 36 months, an imputation artefact worth reproducing.
  const monthsOnBook =
    rng.next() < 0.2 ? 36 : Math.round(clamp(36 + 0.79 * (age - 46.3) + 4.9 * rng.normal(), 13, 56));
  const relationships = 1 + rng.pick(RELATIONSHIP_W);
  const inactive = rng.pick(INACTIVE_W);
  const contacts = rng.pick(CONTACTS_W);

  const limitDraw =
    LIMIT_MEDIAN[trueIncome]! * CARD_LIMIT_FACTOR[card]! * Math.exp(0.6 * rng.normal() + (gender ? 0.1 : 0));
  const creditLimit = limitDraw <= LIMIT_FLOOR ? LIMIT_FLOOR : Math.min(LIMIT_CAP, Math.round(limitDraw));

  const u = rng.next();
  let revolvingBalance =
    u < 0.24
      ? 0
      : u < 0.29
        ? BALANCE_CAP
        : Math.round(clamp(1450 + 480 * rng.normal(), 132, BALANCE_CAP - 1));
  // A balance above the limit is impossible: such customers sit just under it.
  if (revolvingBalance >= creditLimit) revolvingBalance = Math.floor(creditLimit * (0.6 + 0.39 * rng.next()));

  // A small "heavy spender" segment (more often single-product customers)
  // produces the real file's second mode of large amounts and counts.
  const heavy = rng.next() < (relationships <= 2 ? 0.2 : 0.07);
  let transCount: number;
  let perTransaction: number;
  if (heavy) {
    transCount = Math.round(clamp(100 + 12 * rng.normal(), 60, 139));
    perTransaction = 138 * Math.exp(0.12 * rng.normal());
  } else {
    transCount = Math.round(clamp(62 - 3 * (relationships - 3.8) + 17 * rng.normal(), 10, 139));
    perTransaction = 54 * Math.exp(0.2 * rng.normal()) * (creditLimit / 8600) ** 0.05;
  }
  const transAmount = Math.round(clamp(transCount * perTransaction, 510, 18484));

  // Quarter-on-quarter changes, lognormal and correlated (r ~ 0.38).
  const z1 = rng.normal();
  const z2 = rng.normal();
  const countChange = clamp(0.69 * Math.exp(0.3 * z1), 0, 3.714);
  const amountChange = clamp(0.74 * Math.exp(0.27 * (0.38 * z1 + 0.925 * z2)), 0, 3.397);

  const customer: ExampleCustomer = {
    id: exampleId(index, seed),
    age,
    gender,
    dependents,
    education,
    marital,
    income,
    card,
    monthsOnBook,
    relationships,
    inactive,
    contacts,
    creditLimit,
    revolvingBalance,
    amountChange,
    transAmount,
    transCount,
    countChange,
    churnProbability: 0,
    churned: false,
  };
  customer.churnProbability = 1 / (1 + Math.exp(-churnLogit(customer)));
  // Always draw, labelled or not, so both kinds of file consume the stream alike.
  customer.churned = rng.next() < customer.churnProbability;
  return customer;
}

/** One CSV line (no newline), quoting text values as the real file does. */
export function customerLine(c: ExampleCustomer, labelled: boolean): string {
  const roundedLimit = Math.round(c.creditLimit * 10) / 10;
  const label = labelled ? `"${c.churned ? POSITIVE_LABEL : NEGATIVE_LABEL}",` : "";
  return (
    `${c.id},${label}${c.age},"${GENDERS[c.gender]}",${c.dependents},"${EDUCATION[c.education]}",` +
    `"${MARITAL[c.marital]}","${INCOME[c.income]}","${CARDS[c.card]}",${c.monthsOnBook},` +
    `${c.relationships},${c.inactive},${c.contacts},${roundedLimit},${c.revolvingBalance},` +
    `${dec3(roundedLimit - c.revolvingBalance)},${dec3(c.amountChange)},${c.transAmount},${c.transCount},` +
    `${dec3(c.countChange)},${dec3(Math.min(0.999, c.revolvingBalance / roundedLimit))}`
  );
}

/** Options of `exampleRows`. */
export interface ExampleRowsOptions {
  /** Number of customers (data rows, header excluded). */
  rows: number;
  seed: number;
  /** Write the Attrition_Flag column (history) or not (a weekly file to score). */
  labelled: boolean;
  /**
   * Global index of the first row. Ids are a permutation of the global index,
   * so files generated with non-overlapping index ranges never share an id;
   * the index also keys the random stream, so such files hold different customers.
   */
  firstIndex?: number;
  /** Rows per emitted chunk (default 500, ~65 kB: measured fastest; larger strings cost more to build). */
  chunkRows?: number;
  /** Called after each chunk with the rows written so far. */
  onProgress?: (rowsDone: number) => void;
}

/** Counts gathered while a file streams out. */
export interface ExampleStats {
  rows: number;
  churned: number;
}

/** The CSV lines of rows [from, to). */
function chunkText(
  rng: Rng,
  options: ExampleRowsOptions,
  from: number,
  to: number,
  stats: ExampleStats,
): string {
  let text = "";
  for (let index = from; index < to; index++) {
    const customer = drawCustomer(rng, index, options.seed);
    stats.rows++;
    if (customer.churned) stats.churned++;
    text += `${customerLine(customer, options.labelled)}\n`;
  }
  return text;
}

/**
 * Stream a CSV file of synthetic customers (header first) as UTF-8 chunks,
 * in flat memory whatever `rows` is. `stats` (if given) is updated as rows
 * are produced, so it is final when the stream ends. Benchmarks use this to
 * write 1M- and 4M-row files.
 */
export async function* exampleRows(
  options: ExampleRowsOptions,
  stats: ExampleStats = { rows: 0, churned: 0 },
): AsyncGenerator<Uint8Array> {
  const firstIndex = options.firstIndex ?? 0;
  const chunkRows = options.chunkRows ?? 500;
  if (!Number.isSafeInteger(options.rows) || options.rows < 0) {
    throw new RangeError(`rows must be a non-negative integer, got ${options.rows}`);
  }
  if (!Number.isSafeInteger(firstIndex) || firstIndex < 0 || firstIndex + options.rows > MAX_EXAMPLE_ROWS) {
    throw new RangeError(
      `row indexes ${firstIndex}..${firstIndex + options.rows} exceed ${MAX_EXAMPLE_ROWS}`,
    );
  }
  const rng = createRng(options.seed, firstIndex);
  const header = (options.labelled ? EXAMPLE_COLUMNS : WEEKLY_COLUMNS).join(",");
  let prefix = `${header}\n`;
  for (let start = 0; start < options.rows; start += chunkRows) {
    const end = Math.min(options.rows, start + chunkRows);
    const text = prefix + chunkText(rng, options, firstIndex + start, firstIndex + end, stats);
    prefix = "";
    // latin1 is exact here (every value is ASCII) and much cheaper than UTF-8.
    yield Buffer.from(text, "latin1");
    options.onProgress?.(end);
  }
  if (prefix) {
    yield Buffer.from(prefix, "latin1");
    options.onProgress?.(0);
  }
}
