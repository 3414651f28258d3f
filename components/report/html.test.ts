import { describe, expect, it } from "vitest";
import type { DriftReport } from "../common/monitoring/drift.js";
import { PSI_BANDS } from "../common/monitoring/drift.js";
import { curvesFromLift, renderReport } from "./html.js";
import type { WeekSummary } from "./summary.js";

const summary: WeekSummary = {
  counts: { rows_in: 10, scored: 9, rejected: 1, high: 2, medium: 3, low: 4 },
  model_version: "v1",
  expected_churners: { high: 1.5, medium: 0.9, low: 0.2, total: 2.6 },
  probability_histogram: [0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0, 0, 0],
  top_reasons: [],
  model_decision: null,
};

const drift: DriftReport = {
  bands: PSI_BANDS,
  features: [
    { column: "tenure<x>", type: "numeric", psi: 0.9, band: "significant", bins: [] },
    { column: "plan", type: "categorical", psi: 0.15, band: "moderate", bins: [] },
    { column: "spend", type: "numeric", psi: 0.01, band: "stable", bins: [] },
  ],
  skipped: [],
  score: { psi: 0.05, band: "stable", reference: "held-out", bins: [] },
  max_feature_psi: 0.9,
  significant: ["tenure<x>"],
};

describe("report.html monitoring sections", () => {
  it("shows drift per feature coloured by band, model metrics and a plain-words summary, without scripts", () => {
    const html = renderReport(summary, "2026-W48", {
      drift,
      evaluation: {
        rocAuc: 0.8123,
        prAuc: 0.5,
        calibration: [{ bin: 1, count: 50, meanPredicted: 0.1, observedRate: 0.12, maxPredicted: 0.2 }],
        lift: [{ decile: 1, count: 10, rate: 0.6, lift: 3, cumulativeGain: 0.3 }],
      },
    });
    expect(html).toContain('id="drift"');
    expect(html).toContain("tenure&#60;x&#62;");
    expect(html).toContain("0.900 (large change)");
    expect(html).toMatch(/fill="#b3261e"\/><text[^>]*>0\.900/);
    expect(html).toMatch(/fill="#e09b00"\/><text[^>]*>0\.150/);
    expect(html).toMatch(/fill="#2e7d32"\/><text[^>]*>0\.010/);
    expect(html).toContain("0.812");
    expect(html).toContain("Gains by decile");
    expect(html).toContain("Data quality");
    expect(html).toMatch(/<p id="overview">[^<]*changed a lot: tenure&#60;x&#62;/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it("says so when no drift could be measured", () => {
    const html = renderReport(summary, "2026-W48");
    expect(html).toContain("drift was not measured");
    expect(html).not.toContain("How good is the model?");
  });
});

describe("report.html charts", () => {
  it("derives ROC and precision-recall points from the gains deciles", () => {
    const { roc, pr } = curvesFromLift([
      { decile: 2, count: 10, positives: 2, rate: 0.2, lift: 0.4, cumulativeGain: 1 },
      { decile: 1, count: 10, positives: 8, rate: 0.8, lift: 1.6, cumulativeGain: 0.8 },
    ]);
    expect(roc).toEqual([
      [0, 0],
      [0.2, 0.8],
      [1, 1],
    ]);
    expect(pr).toEqual([
      [0.8, 0.8],
      [1, 0.5],
    ]);
  });

  it("draws every chart as a captioned figure when all inputs are there", () => {
    const html = renderReport({ ...summary, top_reasons: [{ column: "tenure", count: 5 }] }, "2026-W48", {
      drift: {
        ...drift,
        score: {
          psi: 0.05,
          band: "stable",
          reference: "held-out",
          bins: [
            { bin: "≤ 0.2", training: 0.5, weekly: 0.4 },
            { bin: "> 0.2", training: 0.5, weekly: 0.6 },
          ],
        },
      },
      evaluation: {
        rocAuc: 0.9,
        prAuc: 0.7,
        calibration: [{ bin: 1, count: 50, meanPredicted: 0.1, observedRate: 0.12, maxPredicted: 0.2 }],
        lift: [{ decile: 1, count: 10, rate: 0.6, lift: 3, cumulativeGain: 0.3 }],
        drivers: [{ column: "spend", meanAbs: 0.4, mean: 0.1 }],
      },
      realised: {
        weeks: [
          {
            week: "2026-W47",
            labels_object: "labels/2026-W47.csv",
            labels_generation: "1",
            labelled: 9,
            matched: 9,
            positives: 3,
            roc_auc: 0.8,
            precision: 0.5,
            recall: 0.4,
            computed_at: "2026-11-25T00:00:00Z",
          },
        ],
      },
      missing: [{ column: "spend", missing: 2, rate: 0.2 }],
    });
    const charts = [
      ...html.matchAll(/<figure data-chart="([a-z-]+)"><svg[^>]*>(.*?)<\/svg><figcaption>[^<]+/g),
    ];
    expect(charts.map((m) => m[1]).sort()).toEqual(
      [
        "calibration",
        "drift",
        "drivers",
        "gains",
        "pr",
        "quality",
        "realised",
        "reasons",
        "roc",
        "score-distribution",
        "tiers",
      ].sort(),
    );
    for (const m of charts) expect(m[2]!.length, m[1]).toBeGreaterThan(50);
    expect(html).toContain("customers held back from training");
    expect(html).toContain("missing spend");
    expect(html).toContain("(mostly towards leaving)");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});

describe("report.html as a campaign page", () => {
  const campaign = {
    week: "2026-W48",
    value_column: null,
    eligible_tiers: ["high"],
    budget_contacts: 2,
    cost_per_contact: 0,
    save_rate: 1,
    control_share: 0.1,
    eligible: 3,
    listed: 3,
    contacts: 2,
    control: 1,
    expected_churners_reached: 1.6,
    expected_value_retained: null,
    without_value: null,
  };
  const preview = {
    idColumn: "CLIENTNUM",
    passthrough: ["region"],
    rows: [
      {
        rank: 1,
        id: "c1",
        tier: "high",
        probability: 0.8123,
        value: null,
        reasons: ["Transactions in 12 months: 32 (typical 65)", "Card category: <Blue>"],
        passthrough: ["north"],
      },
      {
        rank: 3,
        id: "c3",
        tier: "high",
        probability: 0.79,
        value: null,
        reasons: [],
        passthrough: ["south"],
      },
    ],
  };
  const estimate = {
    contact: { customers: 900, churned: 180, churn_rate: 0.2 },
    control: { customers: 100, churned: 30, churn_rate: 0.3 },
    absolute_reduction: { estimate: 0.1, lower: 0.006, upper: 0.194 },
    relative_reduction: { estimate: 0.3333, lower: 0.05, upper: 0.53 },
    churners_prevented: 90,
  };
  const html = renderReport(summary, "2026-W49", {
    campaign,
    preview,
    campaignEffect: {
      confidence: 0.95,
      weeks: [{ week: "2026-W48", ...estimate }],
      accumulated: { weeks: 1, ...estimate },
      arrived: ["2026-W48"],
    },
    decision: {
      action: "promote",
      promoted: true,
      reason: "gbdt promoted: ROC-AUC 0.9100 reaches the gate's 0.8 and there was no champion.",
      candidate: { name: "gbdt", rocAuc: 0.91 },
      champion: null,
      minRocAuc: 0.8,
      candidate_version: "8649abcdef012345",
      champion_version: null,
      holdout_rows: 100,
    },
    warnings: [{ step: "ingest-weekly", code: "unseen-categories", column: "Card", message: "new values" }],
    generatedAt: new Date("2026-11-30T08:15:00Z"),
  });
  const at = (id: string) => html.indexOf(`id="${id}"`);

  it("opens with whom to contact first, after the warnings: the list's top with reasons, passthrough and links", () => {
    expect(at("warnings")).toBeGreaterThan(0);
    expect(at("warnings")).toBeLessThan(at("campaign"));
    expect(at("campaign")).toBeLessThan(at("campaign-result"));
    expect(at("campaign-result")).toBeLessThan(at("tiers"));
    expect(at("tiers")).toBeLessThan(at("model-summary"));
    expect(html).toContain("<h3>The first 2 to call</h3>");
    expect(html).toContain('<td data-label="Chance of leaving">81% (high risk)</td>');
    expect(html).toContain("<li>Card category: &#60;Blue&#62;</li>");
    expect(html).toContain('<td data-label="region">north</td>');
    expect(html).toContain("no single reason stands out");
    expect(html).toContain('<a href="contact-list.csv">');
    expect(html).toContain('<a href="scores.csv">');
    expect(html).toContain("Call 2 customers this week");
  });

  it("with value_column lifetime: names the lifetime value and counts the customers without one", () => {
    const lifetime = renderReport(summary, "2026-W49", {
      campaign: { ...campaign, value_column: "lifetime", expected_value_retained: 812.5, without_value: 7 },
      preview,
    });
    expect(lifetime).toContain("chance of leaving × lifetime value × save rate 100%");
    expect(lifetime).toContain("<th>Expected value kept (in lifetime value)</th><td>812.5</td>");
    expect(lifetime).toContain(
      "<th>Eligible customers without a lifetime value (listed after the others)</th><td>7</td>",
    );
    expect(html).not.toContain("(listed after the others)");
  });

  it("shows the campaign's measured result in plain words with its interval", () => {
    expect(html).toContain("Did the calls work?");
    expect(html).toContain(
      "In 2026-W48: 20.0% of the 900 contacted customers left, against 30.0% of the 100 held back; the calls reduced churn.",
    );
    expect(html).toContain("10.0 points (95% interval 0.6 points to 19.4 points)");
    expect(html).toContain("33% (95% interval 5% to 53%)");
    expect(html).toContain("About 90 of the contacted customers stayed because of the calls.");
    const unclear = renderReport(summary, "w", {
      campaignEffect: {
        confidence: 0.95,
        weeks: [
          { week: "w0", ...estimate, absolute_reduction: { estimate: 0.02, lower: -0.03, upper: 0.07 } },
        ],
        accumulated: {
          weeks: 1,
          ...estimate,
          absolute_reduction: { estimate: 0.02, lower: -0.03, upper: 0.07 },
        },
        arrived: [],
      },
    });
    expect(unclear).toContain("the difference could be chance");
    expect(renderReport(summary, "w")).not.toContain("Did the calls work?");
  });

  it("tells the model in plain words, the technical names only in details", () => {
    const section = html.slice(at("model-summary"), html.indexOf("</details>", at("model-summary")));
    expect(section).toContain("a model trained in this run, the first one for this bucket");
    expect(section).toContain("to the one who left 91% of the time");
    const words = section.slice(0, section.indexOf("<details>"));
    expect(words).not.toMatch(/8649|promoted|gbdt/);
    expect(section).toContain("model version v1");
  });

  it("is responsive and self-contained: viewport meta, a viewBox on every chart, a generated-at time, no script", () => {
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    expect(html).toContain("Made 2026-11-30 08:15 UTC.");
    const svgs = [...html.matchAll(/<svg [^>]*>/g)].map((m) => m[0]);
    expect(svgs.length).toBeGreaterThan(0);
    for (const svg of svgs) expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    // Long names are written whole (above their bar), never cut.
    const long = renderReport(
      { ...summary, top_reasons: [{ column: "Total_Amt_Chng_Q4_Q1_and_more_words", count: 3 }] },
      "w",
    );
    expect(long).toContain(">Total_Amt_Chng_Q4_Q1_and_more_words</text>");
  });
});
