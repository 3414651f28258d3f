import { describe, expect, it } from "vitest";
import { InputError } from "../common/errors.js";
import { renderReport } from "./html.js";
import { summariseScores } from "./summary.js";

async function* chunks(text: string, size = 7): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const scores = [
  "CLIENTNUM,churn_probability,risk_tier,reason_1,reason_2,reason_codes,model_version,region",
  "1,0.910000,high,Transactions in 12 months: 23 (typical 65),Months Inactive 12 Mon: 4 (typical 2),Total_Trans_Ct:+0.84;Months_Inactive_12_Mon:+0.41,abc,north",
  '2,0.450000,medium,"Card category: Blue, Silver",,Card_Category:+0.30,abc,south',
  "3,0.050000,low,,,,abc,north",
  "",
].join("\n");

describe("week summary", () => {
  it("counts tiers, expected churners and reasons in one pass, rows in = scored + rejected", async () => {
    const summary = await summariseScores(
      chunks(scores),
      { in: 5, accepted: 3, rejected: 2 },
      "kept the champion",
    );
    expect(summary.counts).toEqual({ rows_in: 5, scored: 3, rejected: 2, high: 1, medium: 1, low: 1 });
    expect(summary.counts.rows_in).toBe(summary.counts.scored + summary.counts.rejected);
    expect(summary.expected_churners).toEqual({ high: 0.91, medium: 0.45, low: 0.05, total: 1.41 });
    expect(summary.model_version).toBe("abc");
    expect(summary.probability_histogram[9]).toBeCloseTo(1 / 3);
    expect(summary.top_reasons.map((r) => r.column)).toEqual([
      "Card_Category",
      "Months_Inactive_12_Mon",
      "Total_Trans_Ct",
    ]);
  });

  it("refuses a scores file that lost rows", async () => {
    await expect(summariseScores(chunks(scores), { in: 4, accepted: 4, rejected: 0 }, null)).rejects.toThrow(
      InputError,
    );
  });

  it("renders a self-contained page with no scripts or external requests", async () => {
    const summary = await summariseScores(chunks(scores), { in: 3, accepted: 3, rejected: 0 }, null);
    const html = renderReport(summary, "2026-W48<script>");
    expect(html).toContain("Churn scores for 2026-W48&#60;script&#62;");
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});
