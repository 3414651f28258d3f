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
