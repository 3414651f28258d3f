import { ID_COLUMN, LABEL_COLUMN, POSITIVE_LABEL } from "./generate.js";

/**
 * The example bucket's churn.yaml: every section of DESIGN's schema, with the
 * defaults spelled out and a comment on what each key does, so a new user can
 * learn the file by reading it. Kept as literal text (not stringified from an
 * object) because the comments are the point; a unit test parses it with the
 * real schema so it cannot drift from it.
 */
export function exampleConfigText(seed: number): string {
  return `# churn.yaml: the configuration of this bucket (written by \`churn init\`).
# Every key is optional except id_column (or generate_id) and label; the values
# below are the defaults, except id_column, label, passthrough and train.seed,
# which describe the example data. Unknown keys are refused.
# \`churn config show\` prints the effective config, \`churn config schema\` its JSON Schema.

# The customer id: unique per file, carried into scores.csv.
id_column: ${ID_COLUMN}

# The outcome to learn, and the value that means "churned".
label:
  column: ${LABEL_COLUMN}
  positive: "${POSITIVE_LABEL}"

# Columns never used as features. The real BankChurners file ends with two
# Naive_Bayes_Classifier_... columns computed from the label (they leak it); the
# synthetic example data leaves them out, so there is nothing to exclude here.
# With the real file, list both.
exclude: []

# Personal data: never a feature, never in outputs, logs, profiles or reports.
# The example has none (CLIENTNUM is an opaque number).
pii: []

# Copied unchanged into scores.csv, so marketing can filter by them.
passthrough: [Card_Category, Income_Category]

# Friendly names in the reasons of scores.csv and contact-list.csv
# ("Transactions in 12 months: 32 (typical 65)"); a column without one shows
# its name with underscores as spaces ("Total Revolving Bal: ...").
labels:
  Total_Trans_Ct: "transactions in 12 months"
  Total_Trans_Amt: "amount spent in 12 months"
  Total_Ct_Chng_Q4_Q1: "change in transactions Q4 vs Q1"
  Total_Amt_Chng_Q4_Q1: "change in amount Q4 vs Q1"
  Total_Relationship_Count: "products held"
  Months_Inactive_12_mon: "inactive months in 12"
  Contacts_Count_12_mon: "contacts in 12 months"
  Card_Category: "card category"

ingest:
  max_reject_share: 0.05   # fail a file when more than 5% of its rows are rejected
  delimiter: auto          # or one of "," ";" "\\t" "|"
  encoding: auto           # or utf-8, utf-16le, utf-16be, windows-1252
  decimal: auto            # or "." / ","
  unseen_categories: warn  # category values never seen in training: score (count only), warn or reject the rows

train:
  families: [logistic, gbdt, mlp]   # model families tried; the best on cross-validation wins
  cv_folds: 5
  ${`seed: ${seed}`.padEnd(32)}  # training's random seed; here the one the example data was made with
  # Leak guard: a column that alone separates churners almost perfectly,
  # measured out of fold on the training rows, is probably computed from the
  # outcome: it is left out and every report warns about it. List a column
  # known before churn in trusted_features to keep it (still warned about).
  # leak_auc: 0.98         # out-of-fold ROC-AUC of the column alone
  # leak_nmi: 0.9          # out-of-fold normalised mutual information (categoricals)
  # trusted_features: []

gate:
  min_roc_auc: 0.80        # a model below this is never promoted
  # The champion is only compared on held-out customers it never trained on.
  # With fewer than min_compare_rows of them (or fewer than 30 churned), its
  # recipe is refit on the candidate's folds and the cross-validated
  # ROC-AUCs decide instead (always so with generate_id: true).
  # min_compare_rows: 200

tiers:                     # risk tiers by share of customers (or {precision: 0.6})
  high: {top_share: 0.10}
  medium: {top_share: 0.30}

score:
  mode: in-process         # or "server" (then set server_url)
  server_url: null
  reasons: 3               # reason columns in scores.csv
  reasons_for: contact-list  # rows with reasons: high + campaign.eligible_tiers (what marketing gets), or a list: [high, medium]
  shards: auto

campaign:                  # output/<stem>/contact-list.csv: whom to call this week, ranked
  eligible_tiers: [high]   # tiers that may be contacted
  value_column: Total_Trans_Amt   # a numeric column with each customer's value (null: rank by probability;
                                  # lifetime: each customer's lifetime_value from the latest lifetime output,
                                  # joined by id: run \`churn pipeline run lifetime\` first; the example
                                  # purchase log has ids of its own, so here no customer would have one)
  budget_contacts: 200     # at most this many contacts (null: everyone worth contacting)
  cost_per_contact: 5      # in value_column's unit: expected retained value = p * value * save_rate - cost
  save_rate: 0.3           # share of contacted churners the campaign keeps
  control_share: 0.10      # held back at random (not contacted) to measure the campaign; 0: none

retrain:                   # when the weekly run retrains before scoring
  on_history_change: true
  on_labels: true
  max_psi: 0.25            # retrain when a feature's drift (PSI) exceeds this
  min_realised_roc_auc: null
  max_model_age_weeks: null

# transactions: ...       # the lifetime pipeline's purchase logs: the example log
#                           (transactions/2026-11.csv: customer_id, date, amount) uses the defaults

kubernetes:
  namespace: churn
  image: ghcr.io/churn-pipeline/churn:latest
  service_account: churn-runner

mlflow:
  tracking_uri: null       # e.g. http://mlflow:5000 to mirror models and runs
  model_name: churn

notify:
  webhook_url: null        # e.g. a Slack incoming webhook for run results

monitoring:
  pushgateway_url: null    # e.g. http://pushgateway:9091: each run pushes its metrics (env CHURN_PUSHGATEWAY_URL)
`;
}
