import { describe, expect, it } from "vitest";
import { scoringEvaluation } from "./scoring.js";

const candidateReport = { rows: 100, positives: 20, rocAuc: 0.81, prAuc: 0.5, lift: [] };
const championStored = { rows: 90, positives: 18, rocAuc: 0.9, prAuc: 0.6 };

describe("the evaluation of the model that scores", () => {
  it("is the candidate's when it is promoted", () => {
    const s = scoringEvaluation({
      action: "promote",
      candidateVersion: "c",
      candidateReport,
      championVersion: "k",
      championStored,
      championRecordedRocAuc: 0.9,
      refitOnAllRows: true,
    });
    expect(s).toMatchObject({ model_version: "c", role: "candidate", rocAuc: 0.81, refit_on_all_rows: true });
  });

  it("is the champion's stored one when the candidate lost", () => {
    const s = scoringEvaluation({
      action: "keep-champion",
      candidateVersion: "c",
      candidateReport,
      championVersion: "k",
      championStored,
      championRecordedRocAuc: 0.88,
      refitOnAllRows: false,
    });
    expect(s).toMatchObject({ model_version: "k", role: "champion", basis: "champion-stored", rocAuc: 0.9 });
    expect(s).not.toHaveProperty("lift");
  });

  it("falls back to the champion's recorded ROC-AUC without a stored report", () => {
    const s = scoringEvaluation({
      action: "keep-champion",
      candidateVersion: "c",
      candidateReport,
      championVersion: "k",
      championStored: null,
      championRecordedRocAuc: 0.88,
      refitOnAllRows: false,
    });
    expect(s).toEqual({
      model_version: "k",
      role: "champion",
      basis: "champion-recorded",
      rocAuc: 0.88,
      refit_on_all_rows: false,
    });
  });
});
