import { LIFETIME_VALUES } from "../common/config/schema.js";
import type { CampaignDocument } from "../common/documents/campaign.js";
import type { CampaignEffect, CampaignEstimate, Interval } from "../common/documents/campaign-effect.js";
import type { DecisionDocument } from "../common/documents/decision.js";
import { OUTPUT_FILES } from "../common/layout/index.js";
import type { DriftBand, DriftReport } from "../common/monitoring/drift.js";
import type { RealisedHistory } from "../common/monitoring/realised.js";
import type { UnseenCategory } from "../common/profile/profile.js";
import type { Warning } from "../common/warnings.js";
import type { ContactPreview } from "./contact-preview.js";
import type { EvaluationSection } from "./spec.js";
import type { WeekSummary } from "./summary.js";

/*
 * Charts are hand-written inline SVG rather than Vega-Lite or a JS chart
 * library. The page must open offline from a bucket or an e-mail attachment:
 * Vega-Lite would either ship ~1 MB of runtime script inside every report or
 * need a server-side render step (vega's node renderer pulls in a native
 * canvas build) for what are, here, a dozen bar and line charts. Plain SVG has
 * no scripts (nothing to block, fetch or audit), renders the same in every
 * browser, in print and in mail clients, and each chart is a few lines of
 * markup tested like any other string. Every chart sits in a
 * <figure data-chart="name"> with a plain-words caption, so a reader without
 * statistics knows what to look at, and tests can find each one.
 */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const fmt = (n: number) => n.toLocaleString("en-US");
/** A share as people read it: whole percent (`81%`), `<1%` for a small non-zero share. */
const pct = (x: number) => (x > 0 && x < 0.005 ? "<1%" : `${Math.round(x * 100)}%`);
/** A share with one decimal, where whole percents would merge neighbours (probability bands). */
const pct1 = (x: number) => `${(x * 100).toFixed(1)}%`;
/** A difference of two rates in percentage points, e.g. `4.2 points`. */
const points = (x: number) => `${(x * 100).toFixed(1)} points`;
const num = (x: number | null | undefined, digits = 3) =>
  typeof x === "number" && Number.isFinite(x) ? x.toFixed(digits) : "n/a";
/** Coordinates printed with 1 decimal: sub-pixel precision would only bloat the page. */
const px = (x: number) => (Math.round(x * 10) / 10).toString();

/** A chart with its plain-words caption; data-chart names it for tests and readers' tools. */
function figure(name: string, svg: string, caption: string): string {
  return `<figure data-chart="${name}">${svg}<figcaption>${escapeHtml(caption)}</figcaption></figure>`;
}

/**
 * The root of a chart: a viewBox so it scales down to a phone's width with
 * its text (CSS gives it max-width 100%), the size as its natural width.
 */
function svgRoot(label: string, width: number, height: number, body: string): string {
  return `<svg role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

/** Horizontal bars as inline SVG: no scripts, no external requests, readable offline. */
function bars(
  rows: Array<{ label: string; value: number; text: string }>,
  color: string,
  label: string,
): string {
  const max = Math.max(1e-9, ...rows.map((r) => r.value));
  // The name on its own line above its bar: a long attribute name is never cut.
  const h = 36;
  const items = rows
    .map((r, i) => {
      const w = Math.max(1, Math.round((r.value / max) * BAR_MAX));
      return `<text x="0" y="${i * h + 13}" font-size="13">${escapeHtml(r.label)}</text><rect x="0" y="${i * h + 17}" width="${w}" height="14" fill="${color}"/><text x="${w + 6}" y="${i * h + 29}" font-size="13">${escapeHtml(r.text)}</text>`;
    })
    .join("");
  return svgRoot(label, CHART_WIDTH, rows.length * h + 4, items);
}

/** A generous estimate of a text's width in a sans-serif font (average glyph ~0.6 em), for layout. */
function textWidth(text: string, fontSize: number): number {
  return Math.ceil(text.length * fontSize * 0.62);
}

/** Width of the bar charts' viewBox; bars take at most BAR_MAX of it, the figure text the rest. */
const CHART_WIDTH = 640;
const BAR_MAX = 330;

/** Two bars per row (training vs this week), so a shift shows as bars of unequal length. */
function pairedBars(
  rows: Array<{ label: string; a: number; b: number }>,
  names: [string, string],
  label: string,
): string {
  const max = Math.max(1e-9, ...rows.flatMap((r) => [r.a, r.b]));
  const h = 44;
  const colours = ["#9e9e9e", "#3b6ea5"] as const;
  // One legend entry per line: two long names side by side would not fit a narrow chart.
  const legend = names
    .map(
      (n, i) =>
        `<rect x="0" y="${2 + i * 18}" width="12" height="12" fill="${colours[i]}"/><text x="16" y="${12 + i * 18}" font-size="13">${escapeHtml(n)}</text>`,
    )
    .join("");
  const items = rows
    .map((r, i) => {
      const y = 40 + i * h;
      const wa = Math.max(1, Math.round((r.a / max) * BAR_MAX));
      const wb = Math.max(1, Math.round((r.b / max) * BAR_MAX));
      return `<text x="0" y="${y + 12}" font-size="13">${escapeHtml(r.label)}</text><rect x="0" y="${y + 16}" width="${wa}" height="11" fill="${colours[0]}"/><text x="${wa + 6}" y="${y + 26}" font-size="12">${pct(r.a)}</text><rect x="0" y="${y + 28}" width="${wb}" height="11" fill="${colours[1]}"/><text x="${wb + 6}" y="${y + 38}" font-size="12">${pct(r.b)}</text>`;
    })
    .join("");
  return svgRoot(label, CHART_WIDTH, rows.length * h + 42, legend + items);
}

interface Series {
  name: string;
  points: Array<[number, number]>;
  colour: string;
  dashed?: boolean;
  markers?: boolean;
}

/**
 * A line chart on [0, xMax] × [0, yMax] with axes, ticks, labels and a legend;
 * xTicks replace the numeric x ticks (weeks on the realised chart).
 */
function lineChart(options: {
  series: Series[];
  xLabel: string;
  yLabel: string;
  label: string;
  xMax?: number;
  yMax?: number;
  xTicks?: Array<{ at: number; text: string }>;
}): string {
  const W = 340;
  const H = 260;
  const left = 48;
  // Legend entries side by side while they fit the chart's width, then on the next line.
  const legendEntries: Array<{ series: Series; x: number; y: number }> = [];
  let lx = 48;
  let ly = 14;
  for (const series of options.series) {
    const width = 20 + textWidth(series.name, 11) + 14;
    if (lx + width > W && legendEntries.length > 0) {
      lx = 48;
      ly += 14;
    }
    legendEntries.push({ series, x: lx, y: ly });
    lx += width;
  }
  const top = ly + 10;
  const pw = W - left - 12;
  const ph = H - top - 44;
  const xMax = options.xMax ?? 1;
  const sx = (x: number) => left + (x / xMax) * pw;
  const yMax = options.yMax ?? 1;
  const sy = (y: number) => top + ph - Math.min(1, Math.max(0, y / yMax)) * ph;
  const yTicks = [0, 0.25, 0.5, 0.75, 1];
  const xTicks = options.xTicks ?? yTicks.map((t) => ({ at: t * xMax, text: (t * xMax).toFixed(2) }));
  const grid = [
    ...yTicks.map(
      (t) =>
        `<line x1="${left}" x2="${left + pw}" y1="${px(sy(t * yMax))}" y2="${px(sy(t * yMax))}" stroke="#e0e0e0"/><text x="${left - 4}" y="${px(sy(t * yMax) + 4)}" font-size="10" text-anchor="end">${(t * yMax).toFixed(2)}</text>`,
    ),
    ...xTicks.map(
      (t) =>
        `<text x="${px(sx(t.at))}" y="${top + ph + 14}" font-size="10" text-anchor="middle">${escapeHtml(t.text)}</text>`,
    ),
  ].join("");
  const axes = `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + ph}" stroke="#444"/><line x1="${left}" x2="${left + pw}" y1="${top + ph}" y2="${top + ph}" stroke="#444"/><text x="${left + pw / 2}" y="${H - 6}" font-size="11" text-anchor="middle">${escapeHtml(options.xLabel)}</text><text x="12" y="${top + ph / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${top + ph / 2})">${escapeHtml(options.yLabel)}</text>`;
  const lines = options.series
    .map((s) => {
      const path = s.points.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`).join(" ");
      const dots = s.markers
        ? s.points
            .map(([x, y]) => `<circle cx="${px(sx(x))}" cy="${px(sy(y))}" r="3" fill="${s.colour}"/>`)
            .join("")
        : "";
      return `<polyline points="${path}" fill="none" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ""}/>${dots}`;
    })
    .join("");
  const legend = legendEntries
    .map(
      ({ series: s, x, y }) =>
        `<line x1="${x}" x2="${x + 16}" y1="${y - 4}" y2="${y - 4}" stroke="${s.colour}" stroke-width="2"${s.dashed ? ' stroke-dasharray="4 3"' : ""}/><text x="${x + 20}" y="${y}" font-size="11">${escapeHtml(s.name)}</text>`,
    )
    .join("");
  return svgRoot(options.label, W, H, grid + axes + lines + legend);
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
  const h = 36;
  const items = rows
    .map((r, i) => {
      const w = Math.max(1, Math.round((r.value / max) * BAR_MAX));
      return `<text x="0" y="${i * h + 13}" font-size="13">${escapeHtml(r.label)}</text><rect x="0" y="${i * h + 17}" width="${w}" height="14" fill="${r.colour}"/><text x="${w + 6}" y="${i * h + 29}" font-size="13">${escapeHtml(r.text)}</text>`;
    })
    .join("");
  return svgRoot("drift per feature", CHART_WIDTH, rows.length * h + 4, items);
}

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
${
  rows.length
    ? figure(
        "drift",
        colouredBars(rows),
        "Population stability index (PSI) per customer attribute: below 0.1 is stable (green), 0.1–0.25 some change (amber), 0.25 or more a large change (red) that can make scores less reliable.",
      )
    : "<p>No attribute could be compared.</p>"
}
${score}`;
}

/**
 * ROC and precision-recall points at the decile cut-offs of the held-out
 * gains table (the evaluate step keeps deciles, not every threshold): "contact
 * the top k tenths" is also the decision marketing actually makes. The AUC
 * figures beside the charts are the exact ones.
 */
export function curvesFromLift(lift: NonNullable<EvaluationSection["lift"]>): {
  roc: Array<[number, number]>;
  pr: Array<[number, number]>;
} {
  const rows = [...lift].sort((a, b) => a.decile - b.decile);
  const positivesOf = (r: (typeof rows)[number]) => r.positives ?? Math.round(r.count * r.rate);
  const P = rows.reduce((a, r) => a + positivesOf(r), 0);
  const N = rows.reduce((a, r) => a + r.count - positivesOf(r), 0);
  const roc: Array<[number, number]> = [[0, 0]];
  const pr: Array<[number, number]> = [];
  let tp = 0;
  let fp = 0;
  for (const r of rows) {
    tp += positivesOf(r);
    fp += r.count - positivesOf(r);
    roc.push([N ? fp / N : 0, P ? tp / P : 0]);
    pr.push([P ? tp / P : 0, tp + fp ? tp / (tp + fp) : 0]);
  }
  return { roc, pr };
}

function metricsSection(evaluation: EvaluationSection | null): string {
  if (!evaluation) return "";
  const lift = evaluation.lift ?? [];
  const calibration = evaluation.calibration ?? [];
  const { roc, pr } = curvesFromLift(lift);
  const baseRate = (() => {
    const n = lift.reduce((a, r) => a + r.count, 0);
    const p = lift.reduce((a, r) => a + (r.positives ?? r.count * r.rate), 0);
    return n ? p / n : 0;
  })();
  const charts: string[] = [];
  if (lift.length) {
    charts.push(
      figure(
        "roc",
        lineChart({
          label: "ROC curve",
          xLabel: "share of stayers wrongly flagged",
          yLabel: "share of churners caught",
          series: [
            { name: "model", points: roc, colour: "#3b6ea5", markers: true },
            {
              name: "guessing",
              points: [
                [0, 0],
                [1, 1],
              ],
              colour: "#9e9e9e",
              dashed: true,
            },
          ],
        }),
        `ROC curve (ROC-AUC ${num(evaluation.rocAuc)}): the further the blue line bends towards the top left, the better the model separates churners from stayers. The grey line is guessing.`,
      ),
      figure(
        "pr",
        lineChart({
          label: "precision-recall curve",
          xLabel: "share of churners caught (recall)",
          yLabel: "share of flagged who churn",
          series: [
            { name: "model", points: pr, colour: "#6b4fa0", markers: true },
            {
              name: "random list",
              points: [
                [0, baseRate],
                [1, baseRate],
              ],
              colour: "#9e9e9e",
              dashed: true,
            },
          ],
        }),
        `Precision and recall (PR-AUC ${num(evaluation.prAuc)}): as the contact list grows to catch more churners (to the right), the share of contacted customers who really churn falls. The grey line is a random list.`,
      ),
      figure(
        "gains",
        lineChart({
          label: "cumulative gains",
          xLabel: "share of customers contacted, highest scores first",
          yLabel: "share of all churners reached",
          series: [
            {
              name: "model",
              points: [
                [0, 0],
                ...[...lift]
                  .sort((a, b) => a.decile - b.decile)
                  .map((r) => [r.decile / lift.length, r.cumulativeGain] as [number, number]),
              ],
              colour: "#b3261e",
              markers: true,
            },
            {
              name: "random",
              points: [
                [0, 0],
                [1, 1],
              ],
              colour: "#9e9e9e",
              dashed: true,
            },
          ],
        }),
        "Gains: contacting the top 10%, 20%, ... of customers by score reaches this share of all churners. The further above the grey line, the more a campaign gains from using the scores.",
      ),
    );
  }
  if (calibration.length) {
    const top = Math.max(
      0.05,
      ...calibration.flatMap((b) => [b.meanPredicted, b.observedRate]).map((v) => Math.min(1, v)),
    );
    const xMax = Math.min(1, Math.ceil(top * 10) / 10);
    // Both axes share one scale, so "on the diagonal" means "as predicted".
    charts.push(
      figure(
        "calibration",
        lineChart({
          label: "calibration",
          xLabel: "predicted churn probability",
          yLabel: "churn rate that happened",
          xMax,
          yMax: xMax,
          series: [
            {
              name: "model",
              points: calibration.map((b) => [b.meanPredicted, b.observedRate] as [number, number]),
              colour: "#2e7d32",
              markers: true,
            },
            {
              name: "perfect",
              points: [
                [0, 0],
                [xMax, xMax],
              ],
              colour: "#9e9e9e",
              dashed: true,
            },
          ],
        }),
        "Calibration: customers grouped by predicted probability; each dot compares the predicted churn rate with the rate that happened. Dots on the grey line mean a probability of 20% really means 1 in 5.",
      ),
    );
  }
  const calibrationRows = calibration
    .map(
      (b) =>
        `<tr><td>${b.bin}</td><td>${fmt(b.count)}</td><td>${pct(b.meanPredicted)}</td><td>${pct(b.observedRate)}</td></tr>`,
    )
    .join("");
  const gains = lift
    .map(
      (r) =>
        `<tr><td>${r.decile}</td><td>${pct(r.rate)}</td><td>${num(r.lift, 2)}</td><td>${pct(r.cumulativeGain)}</td></tr>`,
    )
    .join("");
  return `<h2 id="model">How good is the model?</h2>
<p class="note">Measured on customers held back from training. ROC-AUC: how well the model ranks churners above stayers (0.5 = guessing, 1 = perfect). PR-AUC: how precise the high-risk list is.</p>
<table><tr><th>ROC-AUC</th><td>${num(evaluation.rocAuc)}</td></tr><tr><th>PR-AUC</th><td>${num(evaluation.prAuc)}</td></tr></table>
<div class="grid">${charts.join("\n")}</div>
${calibrationRows ? `<details><summary>Calibration table</summary><table><tr><th>Group</th><th>Customers</th><th>Predicted churn</th><th>Actual churn</th></tr>${calibrationRows}</table></details>` : ""}
${gains ? `<details><summary>Gains by decile (decile 1 = highest scores)</summary><table><tr><th>Decile</th><th>Churn rate</th><th>Lift</th><th>Share of all churners found so far</th></tr>${gains}</table></details>` : ""}`;
}

function driversSection(summary: WeekSummary, evaluation: EvaluationSection | null): string {
  const drivers = (evaluation?.drivers ?? []).slice(0, 10);
  const global = drivers.length
    ? figure(
        "drivers",
        bars(
          drivers.map((d) => ({
            label: d.column,
            value: d.meanAbs,
            text: `${d.meanAbs.toFixed(3)}${d.mean > 0 ? " (mostly towards leaving)" : d.mean < 0 ? " (mostly towards staying)" : ""}`,
          })),
          "#8a5a00",
          "churn drivers",
        ),
        "What moves the churn score most, on average over customers held back from training (mean absolute effect on the score's log-odds): the longer the bar, the more that attribute matters.",
      )
    : "<p>The model's churn drivers were not available for this run.</p>";
  const reasons = summary.top_reasons.length
    ? figure(
        "reasons",
        bars(
          summary.top_reasons.map((r) => ({ label: r.column, value: r.count, text: fmt(r.count) })),
          "#6b4fa0",
          "most common reasons",
        ),
        "How often each attribute appears among the top reasons given for this week's high- and medium-risk customers (see the reason columns of scores.csv).",
      )
    : "<p>No reasons were computed for this week.</p>";
  return `<h2 id="drivers">Why do customers leave?</h2>${global}<h3>Most common reasons this week</h3>${reasons}`;
}

/** Per-column missing values of the weekly file (only columns with any). */
export interface MissingCount {
  column: string;
  missing: number;
  rate: number;
}

/** The data-quality table's rows for category values training never saw (ingest.unseen_categories). */
function unseenRows(unseen: readonly UnseenCategory[]): string {
  return unseen
    .map(
      (u) =>
        `<tr><th>New values in ${escapeHtml(u.column)} (${u.action}): ${escapeHtml(u.values.map((v) => JSON.stringify(v)).join(", "))}</th><td>${fmt(u.rows)}</td></tr>`,
    )
    .join("\n");
}

function qualitySection(
  summary: WeekSummary,
  missing: MissingCount[],
  unseen: readonly UnseenCategory[] = [],
): string {
  const c = summary.counts;
  const rows = [
    {
      label: "scored",
      value: c.scored,
      text: `${fmt(c.scored)} (${pct(c.rows_in ? c.scored / c.rows_in : 0)})`,
    },
    {
      label: "rejected",
      value: c.rejected,
      text: `${fmt(c.rejected)} (${pct(c.rows_in ? c.rejected / c.rows_in : 0)})`,
    },
    ...missing
      .filter((m) => m.missing > 0)
      .sort((a, b) => b.missing - a.missing || a.column.localeCompare(b.column))
      .slice(0, 8)
      .map((m) => ({
        label: `missing ${m.column}`,
        value: m.missing,
        text: `${fmt(m.missing)} (${pct(m.rate)})`,
      })),
  ];
  return `<h2 id="quality">Data quality</h2>
${figure(
  "quality",
  bars(rows, "#5f6b7a", "data quality counts"),
  "Rows of this week's file that were scored or rejected (rejected rows and the reason are in rejected.csv), and the attributes with the most empty values.",
)}
<table><tr><th>Rows received</th><td>${fmt(c.rows_in)}</td></tr><tr><th>Scored</th><td>${fmt(c.scored)}</td></tr>
<tr><th>Rejected (see rejected.csv)</th><td>${fmt(c.rejected)}</td></tr>${unseenRows(unseen)}</table>`;
}

/** The top of contact-list.csv as a table: on a phone each customer becomes a card (CSS `.cards`). */
function contactTable(preview: ContactPreview, withValue: boolean): string {
  const head = [
    "Rank",
    preview.idColumn,
    "Chance of leaving",
    ...(withValue ? ["Value"] : []),
    "Why",
    ...preview.passthrough,
  ];
  const cell = (label: string, html: string) => `<td data-label="${escapeHtml(label)}">${html}</td>`;
  const rows = preview.rows
    .map((r) => {
      const reasons = r.reasons.length
        ? `<ul class="reasons">${r.reasons.map((t) => `<li>${escapeHtml(t)}</li>`).join("")}</ul>`
        : "no single reason stands out";
      return `<tr>${[
        cell("Rank", String(r.rank)),
        cell(preview.idColumn, escapeHtml(r.id)),
        cell("Chance of leaving", `${pct(r.probability)} (${escapeHtml(r.tier)} risk)`),
        ...(withValue ? [cell("Value", r.value === null ? "" : fmt(r.value))] : []),
        cell("Why", reasons),
        ...preview.passthrough.map((name, i) => cell(name, escapeHtml(r.passthrough[i] ?? ""))),
      ].join("")}</tr>`;
    })
    .join("");
  return `<table class="cards" id="contacts"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * The first section: whom contact-list.csv asks marketing to call first,
 * what that is expected to achieve, the control group that will measure it,
 * and links to the full files (beside this report in output/<week>/).
 */
function contactSection(campaign: CampaignDocument | null, preview: ContactPreview | null): string {
  const links = `<p class="links">Full lists: <a href="${OUTPUT_FILES.contactList}">${OUTPUT_FILES.contactList}</a> (whom to call, in order) and <a href="${OUTPUT_FILES.scores}">${OUTPUT_FILES.scores}</a> (every customer's score).</p>`;
  if (!campaign) return `<h2 id="campaign">Whom to contact first</h2>${links}`;
  const c = campaign;
  // value_column: lifetime is each customer's lifetime value from the lifetime pipeline, not a column.
  const valueName = c.value_column === LIFETIME_VALUES ? "lifetime value" : c.value_column;
  const value =
    c.expected_value_retained === null
      ? ""
      : `<tr><th>Expected value kept (in ${escapeHtml(valueName ?? "value")})</th><td>${fmt(c.expected_value_retained)}</td></tr>`;
  const withoutValue =
    c.without_value === null
      ? ""
      : `<tr><th>Eligible customers without a ${escapeHtml(valueName ?? "value")} (listed after the others)</th><td>${fmt(c.without_value)}</td></tr>`;
  const budget = c.budget_contacts === null ? "no limit" : fmt(c.budget_contacts);
  const control =
    c.control_share > 0
      ? `${fmt(c.control)} customers from the same part of the list are held back at random (${pct(c.control_share)}, marked <code>group: control</code>): do not contact them; when their outcomes arrive, they show what the calls changed.`
      : "There is no control group (campaign.control_share is 0), so the campaign's effect cannot be measured.";
  const ranking =
    c.value_column === null
      ? "highest chance of leaving first"
      : `highest expected value kept first (chance of leaving × ${escapeHtml(valueName ?? c.value_column)} × save rate ${pct(c.save_rate)} − cost ${num(c.cost_per_contact, 2)})`;
  const shown = preview?.rows.length ?? 0;
  const table =
    preview && shown > 0
      ? `<h3>The first ${fmt(shown)} to call</h3>${contactTable(preview, c.value_column !== null)}`
      : "<p>No customer is eligible for contact this week.</p>";
  return `<h2 id="campaign">Whom to contact first</h2>
<p>Call ${fmt(c.contacts)} customers this week, ${ranking}. ${control}</p>
<table class="totals"><tr><th>Customers to contact (budget ${budget})</th><td>${fmt(c.contacts)}</td></tr>
<tr><th>Of them, expected to leave without a call</th><td>${fmt(Math.round(c.expected_churners_reached))}</td></tr>${value}
<tr><th>Held back (control group)</th><td>${fmt(c.control)}</td></tr>
<tr><th>Eligible customers (tiers ${escapeHtml(c.eligible_tiers.join(", "))})</th><td>${fmt(c.eligible)}</td></tr>${withoutValue}</table>
${table}
${links}`;
}

/** "4.2 points (95% interval 1.0 to 7.4 points)"; n/a when not estimable. */
function intervalText(i: Interval, as: (x: number) => string): string {
  if (i.estimate === null && i.lower === null) return "n/a";
  const estimate = i.estimate === null ? "n/a" : as(i.estimate);
  if (i.lower === null || i.upper === null) return estimate;
  return `${estimate} (95% interval ${as(i.lower)} to ${as(i.upper)})`;
}

/** One plain sentence on what the calls changed. */
function effectSentence(what: string, e: CampaignEstimate): string {
  const contact = e.contact.churn_rate;
  const control = e.control.churn_rate;
  if (contact === null || control === null || e.absolute_reduction.estimate === null)
    return `${what}: no comparison is possible (outcomes are missing for the contacted or the control group).`;
  const a = e.absolute_reduction;
  const significant = a.lower !== null && a.upper !== null && (a.lower > 0 || a.upper < 0);
  const verdict = significant
    ? a.estimate! > 0
      ? "the calls reduced churn"
      : "churn was higher among the contacted customers"
    : "the difference could be chance (the interval includes no change)";
  return `${what}: ${pct1(contact)} of the ${fmt(e.contact.customers)} contacted customers left, against ${pct1(control)} of the ${fmt(e.control.customers)} held back; ${verdict}.`;
}

/**
 * The campaign's measured result: past weeks whose outcomes arrived,
 * contacted vs control, per week and all weeks together.
 */
function campaignResultSection(effect: CampaignEffect | null): string {
  if (!effect || effect.weeks.length === 0) return "";
  const row = (label: string, e: CampaignEstimate) =>
    `<tr><td data-label="Week">${escapeHtml(label)}</td><td data-label="Contacted who left">${e.contact.churn_rate === null ? "n/a" : pct1(e.contact.churn_rate)} of ${fmt(e.contact.customers)}</td><td data-label="Held back who left">${e.control.churn_rate === null ? "n/a" : pct1(e.control.churn_rate)} of ${fmt(e.control.customers)}</td><td data-label="Churn reduced by">${intervalText(e.absolute_reduction, points)}</td><td data-label="Relative reduction">${intervalText(e.relative_reduction, pct)}</td></tr>`;
  const rows = effect.weeks.map((w) => row(w.week, w));
  const total = effect.accumulated;
  if (total && effect.weeks.length > 1) rows.push(row(`all ${total.weeks} weeks`, total));
  const lead = total
    ? effectSentence(
        effect.weeks.length > 1 ? `Over ${total.weeks} weeks` : `In ${effect.weeks[0]!.week}`,
        total,
      )
    : "";
  const prevented =
    total?.churners_prevented !== null &&
    total?.churners_prevented !== undefined &&
    total.churners_prevented > 0
      ? ` About ${fmt(Math.round(total.churners_prevented))} of the contacted customers stayed because of the calls.`
      : "";
  return `<h2 id="campaign-result">Did the calls work?</h2>
<p>${escapeHtml(lead)}${escapeHtml(prevented)}</p>
<table class="cards" id="campaign-effect"><thead><tr><th>Week</th><th>Contacted who left</th><th>Held back who left</th><th>Churn reduced by</th><th>Relative reduction</th></tr></thead><tbody>${rows.join("")}</tbody></table>
<p class="note">"Churn reduced by" is the churn rate of the held-back customers minus that of the contacted ones, in percentage points; the relative reduction is that difference as a share of the held-back customers' churn rate. A 95% interval that includes 0 means the data cannot yet tell the campaign from chance.</p>`;
}

/** The model in plain words: what scored the week and how well it ranks, without version hashes up front. */
function modelInWords(
  decision: DecisionDocument | null,
  evaluation: EvaluationSection | null,
  version: string | null,
): string {
  const auc = evaluation?.rocAuc ?? decision?.candidate.rocAuc ?? null;
  const quality =
    typeof auc === "number"
      ? ` Given one customer who left and one who stayed, it gives the higher score to the one who left ${pct(auc)} of the time (50% would be guessing).`
      : "";
  let story = "The scores come from the model in use.";
  if (decision?.action === "promote")
    story =
      decision.champion === null
        ? "The scores come from a model trained in this run, the first one for this bucket."
        : "The scores come from a model retrained in this run: it did at least as well as the previous model on the same customers, so it replaced it.";
  else if (decision?.action === "keep-champion")
    story =
      "The scores come from the model already in use: a model retrained in this run was tried and did worse, so it was not used.";
  const details = [
    version ? `model version ${escapeHtml(version)}` : "",
    decision ? escapeHtml(decision.reason) : "",
  ].filter((t) => t !== "");
  return `<h2 id="model-summary">The model behind the scores</h2><p>${escapeHtml(story + quality)}</p>${
    details.length
      ? `<details><summary>Technical details</summary><p class="note">${details.join(". ")}</p></details>`
      : ""
  }`;
}

/** "0.0034 – 0.0051" as "0.3% – 0.5%": probabilities read as percentages everywhere else in the page. */
function asPercentages(bin: string): string {
  return bin.replace(/\d+(?:\.\d+)?(?:e-?\d+)?/g, (n) => pct1(Number(n)));
}

function distributionSection(summary: WeekSummary, drift: DriftReport | null): string {
  const bins = drift?.score?.bins ?? [];
  if (bins.length) {
    return `<h2 id="distribution">Churn scores this week compared with training</h2>${figure(
      "score-distribution",
      pairedBars(
        bins.map((b) => ({ label: asPercentages(b.bin), a: b.training, b: b.weekly })),
        ["customers held back from training", "this week"],
        "score distribution this week against training",
      ),
      "Share of customers in each band of churn probability (each band holds about a tenth of the test customers), for the customers the model was tested on (grey) and this week (blue). Similar bars mean this week looks like the data the model knows.",
    )}`;
  }
  return `<h2 id="distribution">Churn scores this week</h2>${figure(
    "score-distribution",
    bars(
      summary.probability_histogram.map((share, i) => ({
        label: `${(i / 10).toFixed(1)}–${((i + 1) / 10).toFixed(1)}`,
        value: share,
        text: pct(share),
      })),
      "#3b6ea5",
      "score distribution this week",
    ),
    "Share of this week's customers in each band of churn probability (no training distribution was available to compare with).",
  )}`;
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

/** The realised table's columns (also each cell's label when the table shows as cards on a phone). */
const REALISED_COLUMNS = [
  "Week",
  "Customers with outcomes",
  "Churned",
  "ROC-AUC",
  "High-risk who churned",
  "Churners flagged high risk",
];

function realisedSection(realised: RealisedHistory | null, triggers: string[] | null): string {
  const weeks = realised?.weeks ?? [];
  const rows = weeks
    .map(
      (w) =>
        `<tr>${[
          escapeHtml(w.week),
          fmt(w.matched),
          fmt(w.positives),
          num(w.roc_auc),
          w.precision === null ? "n/a" : pct(w.precision),
          w.recall === null ? "n/a" : pct(w.recall),
        ]
          .map((v, i) => `<td data-label="${REALISED_COLUMNS[i]}">${v}</td>`)
          .join("")}</tr>`,
    )
    .join("");
  const xOf = (i: number) => (weeks.length > 1 ? i / (weeks.length - 1) : 0.5);
  const series = (
    name: string,
    pick: (w: (typeof weeks)[number]) => number | null,
    colour: string,
  ): Series => ({
    name,
    colour,
    markers: true,
    points: weeks.flatMap((w, i) => {
      const v = pick(w);
      return v === null ? [] : [[xOf(i), v] as [number, number]];
    }),
  });
  const chart = weeks.length
    ? figure(
        "realised",
        lineChart({
          label: "realised performance by week",
          xLabel: "scored week",
          yLabel: "measured on real outcomes",
          xTicks: weeks.map((w, i) => ({ at: xOf(i), text: w.week })),
          series: [
            series("ROC-AUC", (w) => w.roc_auc, "#3b6ea5"),
            series("precision", (w) => w.precision, "#b3261e"),
            series("recall", (w) => w.recall, "#2e7d32"),
          ],
        }),
        "For past weeks whose outcomes arrived: ROC-AUC (ranking quality), precision (share of high-risk customers who did churn) and recall (share of churners the high-risk tier caught). A falling line means the model is getting worse.",
      )
    : "";
  const table = rows
    ? `<table class="cards" id="realised-weeks"><thead><tr>${REALISED_COLUMNS.map((c) => `<th>${c}</th>`).join("")}</tr></thead><tbody>${rows}</tbody></table>`
    : "<p>No outcomes (labels/&lt;week&gt;.csv) have arrived for past weeks yet.</p>";
  const fired =
    triggers === null
      ? ""
      : triggers.length
        ? `<p>Reasons to retrain the model now: ${escapeHtml(triggers.join(", ").replaceAll("_", " "))}.</p>`
        : "<p>No retraining trigger fired this week.</p>";
  return `<h2 id="realised">How did past predictions turn out?</h2>${chart}${table}${fired}`;
}

/** Optional sections from the monitoring inputs. */
export interface ReportExtras {
  drift?: DriftReport | null;
  evaluation?: EvaluationSection | null;
  realised?: RealisedHistory | null;
  triggers?: string[] | null;
  /** Missing values per column of the weekly file, for the data-quality chart. */
  missing?: MissingCount[];
  /** What the run's steps noticed: shown first, before anything else. */
  warnings?: Warning[];
  /** Category values of the weekly file never seen in training, for the data-quality section. */
  unseen?: UnseenCategory[];
  /** The contact-list step's totals: the campaign section. */
  campaign?: CampaignDocument | null;
  /** The first customers of contact-list.csv, for the first section. */
  preview?: ContactPreview | null;
  /** Contacted vs control churn of past weeks whose outcomes arrived. */
  campaignEffect?: CampaignEffect | null;
  /** The promotion gate's decision, told in plain words. */
  decision?: DecisionDocument | null;
  /** When the report was made (shown under the title). */
  generatedAt?: Date;
}

/** The run's warnings, first on the page: what a step noticed must reach the people who read the report. */
function warningsSection(warnings: readonly Warning[]): string {
  if (warnings.length === 0) return "";
  const items = warnings.map(
    (w) => `<li>${escapeHtml(w.message)} <span class="note">(${escapeHtml(w.step)})</span></li>`,
  );
  return `<section class="warnings" id="warnings" role="alert"><h2>Check before you act: ${warnings.length} warning${warnings.length === 1 ? "" : "s"}</h2>
<ul>${items.join("")}</ul></section>`;
}

/**
 * Which model the quality figures below describe: the one that scored the
 * week. When this run's candidate lost the gate, that is the champion, and
 * its figures are the ones stored when it was trained.
 */
export function scoringModelNote(evaluation: EvaluationSection | null): string {
  if (!evaluation?.model_version) return "";
  const version = escapeHtml(evaluation.model_version);
  const text =
    evaluation.role === "champion"
      ? evaluation.basis === "champion-stored"
        ? `The figures below describe model ${version}, the champion that scored this week (the model retrained in this run did not beat it), measured on the customers held back when it was trained.`
        : `Model ${version}, the champion, scored this week (the model retrained in this run did not beat it); it was stored before evaluation reports were kept, so only its recorded ROC-AUC is shown.`
      : `The figures below describe model ${version}, which scored this week, measured on customers held back from its training.`;
  const refit = evaluation.refit_on_all_rows
    ? " After the promotion check it was refitted on every labelled customer (the held-back ones too) with the same settings: the figures are those of the model before that refit."
    : "";
  return `<p class="note" id="scoring-model">${text}${refit}</p>`;
}

/** A self-contained page a marketer can open from the bucket. */
export function renderReport(summary: WeekSummary, stem: string, extras: ReportExtras = {}): string {
  const drift = extras.drift ?? null;
  const evaluation = extras.evaluation ?? null;
  const c = summary.counts;
  const tiers = (["high", "medium", "low"] as const).map((t) => ({
    label: `${t} risk`,
    value: c[t],
    text: `${fmt(c[t])} customers, ~${fmt(Math.round(summary.expected_churners[t]))} expected to churn`,
  }));
  const generated = extras.generatedAt
    ? `<p class="note" id="generated">Made ${escapeHtml(extras.generatedAt.toISOString().slice(0, 16).replace("T", " "))} UTC.</p>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Churn report ${escapeHtml(stem)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:1.5em auto;padding:0 1em;color:#1a1a1a;line-height:1.4;overflow-wrap:break-word}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}table{border-collapse:collapse;max-width:100%}td,th{padding:.2em .8em;text-align:right;vertical-align:top}
th{text-align:left}.note,figcaption{color:#444}figure{margin:1em 0}figcaption{font-size:.9em}
.grid{display:flex;flex-wrap:wrap;gap:0 1em}.grid figure{width:340px;max-width:100%}svg{max-width:100%;height:auto;display:block}
table.cards{width:100%}table.cards td,table.cards th{text-align:left;border-bottom:1px solid #e0e0e0}
ul.reasons{margin:0;padding-left:1.1em}
table.totals td{white-space:nowrap}
@media (max-width:640px){table.cards thead{display:none}table.cards tr{display:block;border-bottom:2px solid #ccc;padding:.4em 0}
table.cards td{display:block;border:0;padding:.1em 0}table.cards td::before{content:attr(data-label) ": ";font-weight:600}
td,th{padding:.2em .4em}}
.warnings{border-left:4px solid #b3261e;background:#fdecea;padding:.2em 1em;margin:1em 0}.warnings h2{margin-top:.4em}</style></head>
<body><main>
<h1>Churn scores for ${escapeHtml(stem)}</h1>
${generated}
${warningsSection(extras.warnings ?? [])}
${overview(summary, drift)}
${contactSection(extras.campaign ?? null, extras.preview ?? null)}
${campaignResultSection(extras.campaignEffect ?? null)}
<h2 id="tiers">Customers by risk tier</h2>
${figure(
  "tiers",
  bars(tiers, "#b3261e", "customers and expected churners per risk tier"),
  "How many customers fall in each risk tier, and how many of them are expected to leave (the sum of their churn probabilities). The high tier is the list to contact first.",
)}
${distributionSection(summary, drift)}
${driversSection(summary, evaluation)}
${modelInWords(extras.decision ?? null, evaluation, summary.model_version)}
${qualitySection(summary, extras.missing ?? [], extras.unseen ?? [])}
${driftSection(drift)}
${scoringModelNote(evaluation)}
${metricsSection(evaluation)}
${realisedSection(extras.realised ?? null, extras.triggers ?? null)}
</main></body></html>
`;
}
