import type { WeekSummary } from "./summary.js";

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

/** A self-contained page a marketer can open from the bucket. */
export function renderReport(summary: WeekSummary, stem: string): string {
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
<p class="note">Model ${escapeHtml(summary.model_version ?? "unknown")}. ${escapeHtml(summary.model_decision ?? "")}</p>
<h2>Customers by risk tier</h2>
${bars(tiers, "#b3261e")}
<table><tr><th>Rows received</th><td>${fmt(c.rows_in)}</td></tr><tr><th>Scored</th><td>${fmt(c.scored)}</td></tr>
<tr><th>Rejected (see rejected.csv)</th><td>${fmt(c.rejected)}</td></tr>
<tr><th>Expected churners (sum of probabilities)</th><td>${fmt(Math.round(summary.expected_churners.total))}</td></tr></table>
<h2>Churn probability distribution</h2>
${bars(histogram, "#3b6ea5")}
<h2>Most common reasons</h2>
${reasons.length ? bars(reasons, "#6b4fa0") : "<p>No reasons were computed for this week.</p>"}
</main></body></html>
`;
}
