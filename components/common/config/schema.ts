import { z } from "zod";

/** The risk tiers, highest first (scores.csv `risk_tier`, score.reasons_for, tier thresholds). */
export const TIERS = ["high", "medium", "low"] as const;

/** score.reasons_for's default word: the rows marketing gets (the high tier and campaign.eligible_tiers). */
export const REASONS_FOR_CONTACT_LIST = "contact-list";

/**
 * campaign.value_column's word for "each customer's lifetime value from the
 * lifetime pipeline's latest output" (components/common/documents/lifetime-output.ts)
 * instead of a column of the weekly file.
 */
export const LIFETIME_VALUES = "lifetime";

/**
 * The one strict schema of churn.yaml (DESIGN "churn.yaml"). It gives both the
 * TypeScript type (`ChurnConfig`) and the JSON Schema (`churn config schema`).
 * Unknown keys fail everywhere; every section may be omitted and takes the
 * defaults shown in DESIGN.
 */

/** A section whose own keys all have defaults, so `{}` or an absent section is valid. */
function section<T extends z.ZodRawShape>(shape: T) {
  // prefault (not default) so the inner defaults are applied to the empty section.
  return z.strictObject(shape).prefault({} as never);
}

const share = z.number().gt(0).lt(1);
const probability = z.number().min(0).max(1);
const columnName = z.string().min(1);

const tierRule = z.union([
  z.strictObject({ top_share: share.describe("the top share of customers by probability") }),
  z.strictObject({
    precision: probability.describe("the lowest threshold whose validation precision reaches this"),
  }),
]);

export const MODEL_FAMILIES = ["logistic", "gbdt", "mlp"] as const;
export const DELIMITERS = [",", ";", "\t", "|"] as const;
export const ENCODINGS = ["utf-8", "utf-16le", "utf-16be", "windows-1252"] as const;

/** churn.yaml ingest.unseen_categories: what a weekly category value never seen in training does. */
export const UNSEEN_CATEGORY_POLICIES = ["score", "warn", "reject"] as const;

export const DEFAULT_MISSING_VALUES = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "Unknown", "?"];

export const churnConfigSchema = z
  .strictObject({
    id_column: columnName.optional().describe("column holding the customer id; required unless generate_id"),
    generate_id: z
      .boolean()
      .default(false)
      .describe("number rows instead of reading an id column (files without one)"),
    label: z
      .strictObject({
        column: columnName.describe("the column holding the outcome"),
        positive: z
          .union([z.string(), z.number(), z.boolean()])
          .transform(String)
          .describe(
            'the value of label.column that means churned, compared as text (e.g. "Attrited Customer")',
          ),
      })
      .optional()
      .describe("the outcome column and its churned value; required for training"),
    exclude: z.array(columnName).default([]).describe("columns never used as features"),
    pii: z
      .array(columnName)
      .default([])
      .describe("personal columns: never features, never in outputs, logs, profiles or reports"),
    passthrough: z.array(columnName).default([]).describe("columns copied unchanged into scores.csv"),
    labels: z
      .record(columnName, z.string().min(1))
      .default({})
      .describe(
        'friendly names of columns in the reasons of scores.csv and contact-list.csv, e.g. {Total_Trans_Ct: "transactions in 12 months"}; a column without one shows its name with underscores as spaces',
      ),
    ingest: section({
      max_reject_share: z
        .number()
        .min(0)
        .max(1)
        .default(0.05)
        .describe("fail a file when more than this share of its rows is rejected (0.05: 5%)"),
      delimiter: z
        .enum(["auto", ...DELIMITERS])
        .default("auto")
        .describe("field delimiter of input files; auto: sniffed from the file"),
      encoding: z
        .enum(["auto", ...ENCODINGS])
        .default("auto")
        .describe("text encoding of input files; auto: a BOM decides, else UTF-8, else Windows-1252"),
      decimal: z
        .enum(["auto", ".", ","])
        .default("auto")
        .describe("decimal separator of numbers; auto: sniffed from the file's first rows"),
      missing_values: z
        .array(z.string())
        .default(DEFAULT_MISSING_VALUES)
        .describe("cell values that mean missing, in every column"),
      unseen_categories: z
        .enum(UNSEEN_CATEGORY_POLICIES)
        .default("warn")
        .describe(
          "weekly values of a category column never seen in training: score (count them in summary.json), warn (also a warning per column) or reject (those rows go to rejected.csv)",
        ),
    }).describe("how input files are read and checked"),
    train: section({
      families: z
        .array(z.enum(MODEL_FAMILIES))
        .min(1)
        .default([...MODEL_FAMILIES])
        .describe("model families tried; the best on cross-validation (or a blend of them) wins"),
      cv_folds: z.int().min(2).max(20).default(5).describe("cross-validation folds of every family"),
      seed: z
        .int()
        .default(42)
        .describe("training's random seed: the same rows and seed give the same model"),
      leak_auc: z
        .number()
        .gt(0.5)
        .max(1)
        .default(0.98)
        .describe(
          "leak guard: a feature whose out-of-fold ROC-AUC alone reaches this is left out (a warning names it)",
        ),
      leak_nmi: z
        .number()
        .gt(0)
        .max(1)
        .default(0.9)
        .describe(
          "leak guard: a categorical whose out-of-fold normalised mutual information with the label reaches this is left out",
        ),
      trusted_features: z
        .array(columnName)
        .default([])
        .describe(
          "columns the leak guard keeps although they look like a leak (known before churn); still warned about",
        ),
    }).describe("how candidate models are trained"),
    gate: section({
      min_roc_auc: probability
        .default(0.8)
        .describe("a candidate whose held-out ROC-AUC is below this is never promoted"),
      min_compare_rows: z
        .int()
        .min(1)
        .default(200)
        .describe(
          "fair champion contest: the champion and the candidate are compared on held-out rows the champion never trained on when at least this many (with at least 30 churned) exist; otherwise the champion's recipe is refit on the candidate's folds and the cross-validated ROC-AUCs are compared",
        ),
    }).describe("the promotion gate: when a trained candidate becomes the champion"),
    tiers: section({
      high: tierRule
        .default({ top_share: 0.1 })
        .describe("the high risk tier: {top_share} of customers, or a validation {precision}"),
      medium: tierRule
        .default({ top_share: 0.3 })
        .describe("the medium risk tier, high included (the rest is low): {top_share} or {precision}"),
    }).describe(
      "risk_tier of scores.csv: thresholds on the churn probability, chosen at training time and stored with the model",
    ),
    score: section({
      mode: z
        .enum(["in-process", "server"])
        .default("in-process")
        .describe(
          "in-process: the score step runs the model itself; server: through the model server at server_url",
        ),
      server_url: z
        .url()
        .nullable()
        .default(null)
        .describe("the model server (Open Inference Protocol V2) that mode server scores through"),
      reasons: z.int().min(0).max(20).default(3).describe("reason columns per row in scores.csv (0: none)"),
      reasons_for: z
        .union([z.literal(REASONS_FOR_CONTACT_LIST), z.array(z.enum(TIERS))])
        .default(REASONS_FOR_CONTACT_LIST)
        .describe(
          `tiers whose rows get reasons; "${REASONS_FOR_CONTACT_LIST}" (default): the high tier and campaign.eligible_tiers, the rows marketing gets`,
        ),
      shards: z
        .union([z.literal("auto"), z.int().min(1).max(1000)])
        .default("auto")
        .describe("parallel parts of the score step: a number, or auto (one per 256 MB of typed rows)"),
    }).describe("how the weekly file is scored"),
    publish: section({
      formula_guard: z
        .boolean()
        .default(true)
        .describe(
          "put a leading ' before text values of scores.csv that start with = + - @, tab or CR (not ids, not numbers), so a spreadsheet never runs them as formulas; false keeps the exact text for machine consumers",
        ),
    }).describe("the files published to output/<stem>/"),
    campaign: section({
      eligible_tiers: z
        .array(z.enum(TIERS))
        .min(1)
        .default(["high"])
        .describe("risk tiers whose customers may be on contact-list.csv"),
      value_column: columnName
        .nullable()
        .default(null)
        .describe(
          `a numeric column of the weekly file with each customer's value, or "${LIFETIME_VALUES}": each customer's lifetime_value from the latest lifetime output (churn pipeline run lifetime), joined by id, customers without one ranked last (null: rank by churn probability)`,
        ),
      budget_contacts: z
        .int()
        .min(1)
        .nullable()
        .default(null)
        .describe("at most this many customers to contact (null: every eligible customer)"),
      cost_per_contact: z
        .number()
        .min(0)
        .default(0)
        .describe(
          "what one contact costs, in value_column's unit: expected retained value = p * value * save_rate - cost",
        ),
      save_rate: probability.default(1).describe("the share of contacted churners the campaign keeps"),
      control_share: z
        .number()
        .min(0)
        .lt(1)
        .default(0.1)
        .describe(
          "share of the list held back as a control group (not contacted) to measure the campaign; 0: no control group",
        ),
    }).describe(
      "output/<stem>/contact-list.csv: whom to contact this week, ranked by expected retained value",
    ),
    retrain: section({
      on_history_change: z
        .boolean()
        .default(true)
        .describe(
          "report a changed input/ as a retrain trigger (training is keyed by content, so changed data is always trained on)",
        ),
      on_labels: z
        .boolean()
        .default(true)
        .describe("join uploaded labels/<stem>.csv with their weekly rows into extra training rows"),
      max_psi: z
        .number()
        .positive()
        .nullable()
        .default(0.25)
        .describe("retrain when a feature's drift (PSI against the training data) exceeds this (null: off)"),
      min_realised_roc_auc: probability
        .nullable()
        .default(null)
        .describe("retrain when a newly labelled week's realised ROC-AUC is below this (null: off)"),
      max_model_age_weeks: z
        .number()
        .positive()
        .nullable()
        .default(null)
        .describe("retrain when the champion is older than this many weeks (null: off)"),
    }).describe("when the weekly run retrains before scoring"),
    transactions: section({
      customer_column: columnName.default("customer_id").describe("the column holding the customer id"),
      time_column: columnName.default("date").describe("the column holding the purchase date"),
      time_format: z
        .string()
        .min(1)
        .default("auto")
        .describe(
          "date format of time_column: auto (YYYYMMDD or YYYY-MM-DD, a time part ignored), YYYY-MM-DDTHH:MM:SS, YYYY/MM/DD or DD.MM.YYYY",
        ),
      value_column: columnName
        .nullable()
        .default("amount")
        .describe("the column holding the purchase amount (null: no spend model, no lifetime_value)"),
      time_unit: z
        .enum(["day", "week", "month"])
        .default("week")
        .describe("the time unit of the lifetime model's fit (day, week or month)"),
      observation_end: z
        .string()
        .nullable()
        .default(null)
        .describe(
          "the last day of the observation period, a date in time_format; later purchases are left out (null: the last purchase's day)",
        ),
      format: section({
        delimiter: z
          .enum([...DELIMITERS, "whitespace"])
          .default(",")
          .describe("field delimiter; whitespace: runs of spaces or tabs (raw CDNOW logs)"),
        header: z
          .boolean()
          .default(true)
          .describe("the first line is a header (names the columns, or is skipped when columns is set)"),
        columns: z
          .array(columnName)
          .nullable()
          .default(null)
          .describe("the column names of a file without a header (null: read from the header)"),
      }).describe("how a purchase log file is laid out"),
    }).describe("the purchase logs (transactions/) of the lifetime pipeline"),
    lifetime: section({
      model: z
        .enum(["bgnbd"])
        .default("bgnbd")
        .describe("lifetime model fitted to the purchase log (BG/NBD)"),
      penalizer: z
        .number()
        .min(0)
        .default(0)
        .describe("L2 penalty on the model parameters (0: plain maximum likelihood)"),
      horizon_days: z
        .number()
        .positive()
        .default(90)
        .describe("expected_purchases in customers.csv counts purchases in the next this many days"),
      value_months: z
        .int()
        .min(1)
        .max(120)
        .default(12)
        .describe(
          "customers.csv lifetime_value sums this many months of expected purchases x expected spend (Gamma-Gamma)",
        ),
      value_monthly_discount: z
        .number()
        .min(0)
        .max(1)
        .default(0.01)
        .describe("discount rate per month applied to lifetime_value (month k is divided by (1 + rate)^k)"),
      alert_prob_alive: probability
        .nullable()
        .default(0.3)
        .describe("alert when the probability a customer is still active is below this (null: off)"),
      alert_inactive_days: z
        .number()
        .positive()
        .nullable()
        .default(null)
        .describe("alert when the last purchase is more than this many days ago (null: off)"),
      alert_rhythm_factor: z
        .number()
        .positive()
        .nullable()
        .default(3)
        .describe(
          "alert when the silence exceeds this multiple of the customer's mean gap between purchases (null: off)",
        ),
      alert_min_repeat_purchases: z
        .int()
        .min(1)
        .default(2)
        .describe("repeat purchases needed before the rhythm rule applies (one gap is not a rhythm)"),
    }).describe("the lifetime pipeline's models (BG/NBD, Gamma-Gamma) and its alerts.csv"),
    kubernetes: section({
      namespace: z.string().min(1).default("churn").describe("namespace of the step Jobs"),
      image: z
        .string()
        .min(1)
        .default("ghcr.io/churn-pipeline/churn:latest")
        .describe("the container image every step Job runs"),
      service_account: z
        .string()
        .min(1)
        .default("churn-runner")
        .describe("the ServiceAccount of the step pods"),
    }).describe("--runner kubernetes: where the step Jobs run, and as whom"),
    mlflow: section({
      tracking_uri: z
        .url()
        .nullable()
        .default(null)
        .describe(
          "MLflow tracking server that mirrors models and runs (null: MLFLOW_TRACKING_URI, else none)",
        ),
      model_name: z.string().min(1).default("churn").describe("the registered model's name in MLflow"),
    }).describe("mirror of models and runs in MLflow"),
    notify: section({
      webhook_url: z
        .url()
        .nullable()
        .default(null)
        .describe("a webhook (e.g. a Slack incoming webhook) that receives each run's result (null: none)"),
    }).describe("messages about finished and failed runs"),
    monitoring: section({
      pushgateway_url: z
        .url()
        .nullable()
        .default(null)
        .describe(
          "Prometheus Pushgateway that receives each run's metrics (null: no push; CHURN_PUSHGATEWAY_URL overrides)",
        ),
    }).describe("operations metrics of each run"),
  })
  .superRefine(
    (config, ctx) => {
      // Runs even when other fields failed (see `when` below), so values may be
      // of the wrong type: every access here is defensive.
      if (!config.id_column && !config.generate_id) {
        ctx.addIssue({
          code: "custom",
          path: ["id_column"],
          message:
            "is required (name the customer id column, or set generate_id: true for files without one)",
        });
      }
      if (config.id_column && config.generate_id) {
        ctx.addIssue({
          code: "custom",
          path: ["generate_id"],
          message: "cannot be true together with id_column (choose one)",
        });
      }
      const list = (value: unknown): string[] =>
        Array.isArray(value) ? value.filter((v) => typeof v === "string") : [];
      const pii = list(config.pii);
      const roles: Array<[string, string[]]> = [
        ["exclude", list(config.exclude)],
        ["pii", pii],
        ["passthrough", list(config.passthrough)],
      ];
      for (const [role, columns] of roles) {
        for (const column of columns) {
          if (role === "passthrough" && pii.includes(column)) {
            ctx.addIssue({
              code: "custom",
              path: ["passthrough"],
              message: `lists "${column}", which is also pii: pii never reaches outputs`,
            });
          }
          if (column === config.label?.column) {
            ctx.addIssue({
              code: "custom",
              path: [role],
              message: `lists the label column "${column}"`,
            });
          }
        }
      }
      const valueColumn = config.campaign?.value_column;
      // "lifetime" names the lifetime output, not a column, so no column rule applies to it.
      if (typeof valueColumn === "string" && valueColumn !== LIFETIME_VALUES) {
        if (pii.includes(valueColumn))
          ctx.addIssue({
            code: "custom",
            path: ["campaign", "value_column"],
            message: `is "${valueColumn}", which is pii: pii never reaches outputs`,
          });
        if (valueColumn === config.label?.column)
          ctx.addIssue({
            code: "custom",
            path: ["campaign", "value_column"],
            message: `is the label column "${valueColumn}"`,
          });
      }
      const high = config.tiers?.high as { top_share?: unknown } | undefined;
      const medium = config.tiers?.medium as { top_share?: unknown } | undefined;
      if (
        typeof high?.top_share === "number" &&
        typeof medium?.top_share === "number" &&
        medium.top_share <= high.top_share
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["tiers", "medium", "top_share"],
          message: `must be larger than tiers.high.top_share (${high.top_share}): medium includes high`,
        });
      }
    },
    { when: () => true },
  )
  .describe(
    "churn.yaml, the configuration of a bucket: every key is optional except id_column (or generate_id) and, for training, label; unknown keys are refused",
  );

/** The effective configuration, every default filled in. */
export type ChurnConfig = z.output<typeof churnConfigSchema>;
/** What a user may write in churn.yaml. */
export type ChurnConfigInput = z.input<typeof churnConfigSchema>;

/**
 * The tiers whose rows get reasons: score.reasons_for as listed, or for
 * "contact-list" the high tier and the contact list's eligible tiers (in
 * TIERS order). Reasons cost most of a scoring run's CPU, so by default
 * they go only to the rows someone reads.
 */
export function reasonTiers(config: Pick<ChurnConfig, "score" | "campaign">): Array<(typeof TIERS)[number]> {
  const chosen = config.score.reasons_for;
  if (chosen !== REASONS_FOR_CONTACT_LIST) return [...chosen];
  const wanted = new Set<string>(["high", ...config.campaign.eligible_tiers]);
  return TIERS.filter((t) => wanted.has(t));
}
export type TierRule = z.output<typeof tierRule>;

/** The JSON Schema of churn.yaml (input side: defaults shown, nothing required that has one). */
export function churnConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(churnConfigSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
}
