import type { DriftBand, DriftReport } from "../monitor/drift.js";
import type { RealisedHistory } from "../monitor/realised.js";
import type { EvaluationSection } from "./spec.js";
import type { WeekSummary } from "./summary.js";

/*
 * Charts are hand-written inline SVG rather than Vega-Lite or a JS chart
 * library: the page must open offline from a bucket or an e-mail attachment,
 * with no scripts (nothing to block, nothing to fetch, nothing to audit) and
 * render the same in every browser and in print. Horizontal bars and small
 * tables carry everything this report shows, so a renderer would add weight
 * without adding meaning.
 */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (n: number) => n.toLocaleString("en-US");
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Horizontal bars as inline SVG: no scripts, no external requests, readable offline. */
function bars(rows: Array<{ label: string; value: number; text: string }>, color: string): string {
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  const h = 22;
  const items = rows
    .map((r, i) => {
      const w = Math.round((r.value / max) * 300);
      return `<text x="0" y="${i * h + 15}" font-size="12">${escapeHtml(r.label)}</text><rect x="150" y="${i * h + 4}" width="${w}" height="14" fill="${color}"/><text x="${156 + w}" y="${i * h + 15}" font-size="12">${escapeHtml(r.text)}</text>`;
    })
    .join("");
  return `<svg role="img" width="560" height="${rows.length * h + 4}" xmlns="http://www.w3.org/2000/svg">${items}</svg>`;
}

const BAND_COLOUR: Record<DriftBand, string> = {
  stable: "#2e7d32",
  moderate: "#e09b00",
  significant: "#b3261e",
};
const BAND_WORDS: Record<DriftBand, string> = {
  stable: "stable",
  moderate: "some change",
  significant: "large change",
};

/** Bars coloured one by one (drift bands). */
function colouredBars(rows: Array<{ label: string; value: number; text: string; colour: string }>): string {
  const max = Math.max(0.3, ...rows.map((r) => r.value));
  const h = 22;
  const items = rows
    .map((r, i) => {
      const w = Math.max(1, Math.round((r.value / max) * 280));
      return `<text x="0" y="${i * h + 15}" font-size="12">${escapeHtml(r.label.slice(0, 26))}</text><rect x="170" y="${i * h + 4}" width="${w}" height="14" fill="${r.colour}"/><text x="${176 + w}" y="${i * h + 15}" font-size="12">${escapeHtml(r.text)}</text>`;
    })
    .join("");
  return `<svg role="img" aria-label="drift per feature" width="620" height="${rows.length * h + 4}" xmlns="http://www.w3.org/2000/svg">${items}</svg>`;
}

const num = (x: number | null | undefined, digits = 3) =>
  typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "n/a";

function driftSection(drift: DriftReport | null): string {
  if (!drift)
    return `<h2 id="drift">Has the customer data changed since training?</h2><p>No training profile was available, so drift was not measured.</p>`;
  const rows = drift.features.map((f) => ({
    label: f.column,
    value: f.psi,
    text: `${f.psi.toFixed(3)} (${BAND_WORDS[f.band]})`,
    colour: BAND_COLOUR[f.band],
  }));
  const score = drift.score
    ? `<p>The spread of churn scores this week compared with the model's test data: PSI ${drift.score.psi.toFixed(3)} (${BAND_WORDS[drift.score.band]}).</p>`
    : "";
  return `<h2 id="drift">Has the customer data changed since training?</h2>
<p class="note">Population stability index (PSI) per customer attribute: below 0.1 is stable (green), 0.1–0.25 some change (amber), 0.25 or more a large change (red) that can make scores less reliable.</p>
${rows.length ? colouredBars(rows) : "<p>No attribute could be compared.</p>"}
${score}`;
}

function metricsSection(evaluation: EvaluationSection | null): string {
  if (!evaluation) return "";
  const calibration = (evaluation.calibration ?? [])
    .map(
      (b) =>
        `<tr><td>${b.bin}</td><td>${fmt(b.count)}</td><td>${pct(b.meanPredicted)}</td><td>${pct(b.observedRate)}</td></tr>`,
    )
    .join("");
  const gains = (evaluation.lift ?? [])
    .map(
      (r) =>
        `<tr><td>${r.decile}</td><td>${pct(r.rate)}</td><td>${num(r.lift, 2)}</td><td>${pct(r.cumulativeGain)}</td></tr>`,
    )
    .join("");
  return `<h2 id="model">How good is the model?</h2>
<p class="note">Measured on customers held back from training. ROC-AUC: how well the model ranks churners above stayers (0.5 = guessing, 1 = perfect). PR-AUC: how precise the high-risk list is.</p>
<table><tr><th>ROC-AUC</th><td>${num(evaluation.rocAuc)}</td></tr><tr><th>PR-AUC</th><td>${num(evaluation.prAuc)}</td></tr></table>
${calibration ? `<h3>Do the probabilities match reality? (calibration)</h3><table><tr><th>Group</th><th>Customers</th><th>Predicted churn</th><th>Actual churn</th></tr>${calibration}</table>` : ""}
${gains ? `<h3>Gains by decile (decile 1 = highest scores)</h3><table><tr><th>Decile</th><th>Churn rate</th><th>Lift</th><th>Share of all churners found so far</th></tr>${gains}</table>` : ""}`;
}

/** The one-paragraph plain-words summary at the top. */
function overview(summary: WeekSummary, drift: DriftReport | null): string {
  const c = summary.counts;
  const parts = [
    `This week ${fmt(c.rows_in)} customers were received and ${fmt(c.scored)} were scored; ${fmt(c.rejected)} could not be scored (see rejected.csv).`,
    `${fmt(c.high)} are at high risk of leaving, and about ${fmt(Math.round(summary.expected_churners.total))} customers in total are expected to churn.`,
  ];
  if (drift) {
    parts.push(
      drift.significant.length
        ? `Compared with the data the model learnt from, these customer attributes changed a lot: ${drift.significant.join(", ")}. Treat the scores with care and consider retraining.`
        : "The customer data looks similar to the data the model was trained on.",
    );
  }
  return `<p id="overview">${escapeHtml(parts.join(" "))}</p>`;
}

function realisedSection(realised: RealisedHistory | null, triggers: string[] | null): string {
  const weeks = realised?.weeks ?? [];
  const rows = weeks
    .map(
      (w) =>
        `<tr><td>${escapeHtml(w.week)}</td><td>${fmt(w.matched)}</td><td>${fmt(w.positives)}</td><td>${num(w.roc_auc)}</td><td>${w.precision === null ? "n/a" : pct(w.precision)}</td><td>${w.recall === null ? "n/a" : pct(w.recall)}</td></tr>`,
    )
    .join("");
  const table = rows
    ? `<table><tr><th>Week</th><th>Customers with outcomes</th><th>Churned</th><th>ROC-AUC</th><th>High-risk who churned</th><th>Churners flagged high risk</th></tr>${rows}</table>`
    : "<p>No outcomes (labels/&lt;week&gt;.csv) have arrived for past weeks yet.</p>";
  const fired =
    triggers === null
      ? ""
      : triggers.length
        ? `<p>Reasons to retrain the model now: ${escapeHtml(triggers.join(", ").replaceAll("_", " "))}.</p>`
        : "<p>No retraining trigger fired this week.</p>";
  return `<h2 id="realised">How did past predictions turn out?</h2>${table}${fired}`;
}

/** Optional sections from the monitoring inputs. */
export interface ReportExtras {
  drift?: DriftReport | null;
  evaluation?: EvaluationSection | null;
  realised?: RealisedHistory | null;
  triggers?: string[] | null;
}

/** A self-contained page a marketer can open from the bucket. */
export function renderReport(summary: WeekSummary, stem: string, extras: ReportExtras = {}): string {
  const drift = extras.drift ?? null;
  const c = summary.counts;
  const tiers = (["high", "medium", "low"] as const).map((t) => ({
    label: `${t} risk`,
    value: c[t],
    text: `${fmt(c[t])} customers, ~${fmt(Math.round(summary.expected_churners[t]))} expected to churn`,
  }));
  const histogram = summary.probability_histogram.map((share, i) => ({
    label: `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`,
    value: share,
    text: pct(share),
  }));
  const reasons = summary.top_reasons.map((r) => ({ label: r.column, value: r.count, text: fmt(r.count) }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Churn report ${escapeHtml(stem)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;color:#1a1a1a;line-height:1.4}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}table{border-collapse:collapse}td,th{padding:.2em .8em;text-align:right}
th{text-align:left}.note{color:#444}</style></head>
<body><main>
<h1>Churn scores for ${escapeHtml(stem)}</h1>
${overview(summary, drift)}
<p class="note">Model ${escapeHtml(summary.model_version ?? "unknown")}. ${escapeHtml(summary.model_decision ?? "")}</p>
<h2>Customers by risk tier</h2>
${bars(tiers, "#b3261e")}
<h2 id="quality">Data quality</h2>
<table><tr><th>Rows received</th><td>${fmt(c.rows_in)}</td></tr><tr><th>Scored</th><td>${fmt(c.scored)}</td></tr>
<tr><th>Rejected (see rejected.csv)</th><td>${fmt(c.rejected)}</td></tr>
<tr><th>Expected churners (sum of probabilities)</th><td>${fmt(Math.round(summary.expected_churners.total))}</td></tr></table>
<h2>Churn probability distribution</h2>
${bars(histogram, "#3b6ea5")}
<h2>Most common reasons</h2>
${reasons.length ? bars(reasons, "#6b4fa0") : "<p>No reasons were computed for this week.</p>"}
${driftSection(drift)}
${metricsSection(extras.evaluation ?? null)}
${realisedSection(extras.realised ?? null, extras.triggers ?? null)}
</main></body></html>
`;
}
