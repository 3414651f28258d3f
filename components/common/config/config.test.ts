import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors.js";
import { churnConfigJsonSchema, parseConfig, parseConfigText, reasonTiers } from "./index.js";

function problemsOf(text: string): Array<{ field: string; message: string }> {
  try {
    parseConfigText(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    return ((error as ConfigError).details as { problems: Array<{ field: string; message: string }> })
      .problems;
  }
  throw new Error("expected the config to be refused");
}

describe("churn.yaml schema", () => {
  it("fills every default of DESIGN from a minimal file", () => {
    const config = parseConfigText("id_column: customer_id\nlabel: {column: churn, positive: 'Yes'}\n");
    expect(config.ingest).toEqual({
      max_reject_share: 0.05,
      delimiter: "auto",
      encoding: "auto",
      decimal: "auto",
      missing_values: expect.arrayContaining(["", "NA", "Unknown"]),
      unseen_categories: "warn",
    });
    expect(config.labels).toEqual({});
    expect(config.campaign).toEqual({
      eligible_tiers: ["high"],
      value_column: null,
      budget_contacts: null,
      cost_per_contact: 0,
      save_rate: 1,
      control_share: 0.1,
    });
    expect(config.train).toEqual({
      families: ["logistic", "gbdt", "mlp"],
      cv_folds: 5,
      seed: 42,
      leak_auc: 0.98,
      leak_nmi: 0.9,
      trusted_features: [],
    });
    expect(config.gate.min_roc_auc).toBe(0.8);
    expect(config.tiers).toEqual({ high: { top_share: 0.1 }, medium: { top_share: 0.3 } });
    expect(config.score).toMatchObject({ mode: "in-process", server_url: null, reasons: 3, shards: "auto" });
    expect(config.score.reasons_for).toBe("contact-list");
    expect(reasonTiers(config)).toEqual(["high"]);
    expect(config.retrain.max_psi).toBe(0.25);
    expect(config.transactions.format).toEqual({ delimiter: ",", header: true, columns: null });
    expect(config.kubernetes.namespace).toBe("churn");
    expect(config.mlflow.model_name).toBe("churn");
    expect(config.notify.webhook_url).toBeNull();
    expect(config.publish).toEqual({ formula_guard: true });
  });

  it("accepts a numeric positive label and keeps it as text", () => {
    expect(
      parseConfig({ id_column: "CustomerId", label: { column: "Exited", positive: 1 } }).label?.positive,
    ).toBe("1");
  });

  it("accepts precision tiers and generate_id", () => {
    const config = parseConfig({ generate_id: true, tiers: { high: { precision: 0.6 } } });
    expect(config.tiers.high).toEqual({ precision: 0.6 });
    expect(config.generate_id).toBe(true);
  });

  it.each([
    ["unknown top-level key", "id_column: a\ncolour: blue\n", "colour", /not a known setting/],
    ["unknown nested key", "id_column: a\ntrain: {folds: 3}\n", "train.folds", /not a known setting/],
    ["wrong type names the value", "id_column: a\ntrain: {cv_folds: five}\n", "train.cv_folds", /got "five"/],
    ["out of range", "id_column: a\ngate: {min_roc_auc: 1.5}\n", "gate.min_roc_auc", /1\.5/],
    ["missing id", "label: {column: c, positive: 1}\n", "id_column", /required/],
    ["both id and generate_id", "id_column: a\ngenerate_id: true\n", "generate_id", /cannot be true/],
    ["bad enum", "id_column: a\nscore: {mode: fast}\n", "score.mode", /got "fast"/],
    ["pii passthrough", "id_column: a\npii: [email]\npassthrough: [email]\n", "passthrough", /pii/],
    [
      "pii campaign value",
      "id_column: a\npii: [income]\ncampaign: {value_column: income}\n",
      "campaign.value_column",
      /pii/,
    ],
    ["control share of 1", "id_column: a\ncampaign: {control_share: 1}\n", "campaign.control_share", /1/],
    [
      "bad unseen policy",
      "id_column: a\ningest: {unseen_categories: drop}\n",
      "ingest.unseen_categories",
      /drop/,
    ],
    ["empty label", "id_column: a\nlabels: {x: ''}\n", "labels.x", /./],
    [
      "medium inside high",
      "id_column: a\ntiers: {high: {top_share: 0.3}, medium: {top_share: 0.1}}\n",
      "tiers.medium.top_share",
      /larger/,
    ],
    ["bad url", "id_column: a\nnotify: {webhook_url: 'not a url'}\n", "notify.webhook_url", /not a url/],
    ["not a boolean", "id_column: a\npublish: {formula_guard: maybe}\n", "publish.formula_guard", /maybe/],
  ])("refuses %s, naming the field", (_name, text, field, message) => {
    const problems = problemsOf(text);
    const problem = problems.find((p) => p.field === field);
    expect(problem, JSON.stringify(problems)).toBeDefined();
    expect(problem!.message).toMatch(message);
  });

  it("reports every problem, not only the first", () => {
    const problems = problemsOf("colour: blue\ntrain: {cv_folds: 1, seed: x}\n");
    expect(problems.map((p) => p.field).sort()).toEqual([
      "colour",
      "id_column",
      "train.cv_folds",
      "train.seed",
    ]);
  });

  it("names line and column of a YAML syntax error", () => {
    expect(() => parseConfigText("id_column: a\ntrain: {cv_folds: 3\n")).toThrow(/line \d+, column \d+/);
  });

  it("refuses duplicate keys", () => {
    expect(() => parseConfigText("id_column: a\nid_column: b\n")).toThrow(ConfigError);
  });

  it("publishes a strict JSON Schema", () => {
    const schema = churnConfigJsonSchema() as {
      additionalProperties: boolean;
      properties: Record<string, unknown>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining([
        "id_column",
        "label",
        "ingest",
        "train",
        "gate",
        "tiers",
        "score",
        "retrain",
        "transactions",
        "kubernetes",
        "mlflow",
        "notify",
        "publish",
      ]),
    );
    const publish = schema.properties.publish as { properties: Record<string, { description?: string }> };
    expect(publish.properties.formula_guard?.description).toMatch(/spreadsheet/);
  });
});

describe("score.reasons_for", () => {
  it('"contact-list" follows campaign.eligible_tiers and always includes high; a list is taken as given', () => {
    const base = "id_column: a\n";
    expect(
      reasonTiers(parseConfigText(`${base}campaign: {eligible_tiers: [medium]}\n`, "churn.yaml")),
    ).toEqual(["high", "medium"]);
    expect(
      reasonTiers(parseConfigText(`${base}score: {reasons_for: [medium, low]}\n`, "churn.yaml")),
    ).toEqual(["medium", "low"]);
    expect(() => parseConfigText(`${base}score: {reasons_for: everyone}\n`, "churn.yaml")).toThrow(
      ConfigError,
    );
  });
});
