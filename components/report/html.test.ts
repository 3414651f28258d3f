import { describe, expect, it } from "vitest";
import type { DriftReport } from "../monitor/drift.js";
import { PSI_BANDS } from "../monitor/drift.js";
import { renderReport } from "./html.js";
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
