/**
 * Metric names referenced by PromQL expressions and present in Prometheus
 * text-format output, for checking a dashboard against real /metrics.
 *
 * Not a PromQL parser: it removes what cannot hold a metric name (strings,
 * label matchers, ranges, grouping label lists, dashboard variables), then
 * keeps every identifier that is not a function call, keyword or number part.
 */

const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
  "Inf",
  "NaN",
]);

/** Metric names one PromQL expression selects (histogram series keep their _bucket/_sum/_count suffix). */
export function promqlMetricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$\{[^}]*\}|\$\w+/g, " 0 ");
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const name = m[0];
    const before = s[m.index - 1] ?? " ";
    if (/[0-9.]/.test(before)) continue; // 1e3, 5m
    if (KEYWORDS.has(name)) continue;
    if (
      s
        .slice(m.index + name.length)
        .trimStart()
        .startsWith("(")
    )
      continue; // function or aggregation
    names.add(name);
  }
  return [...names].sort();
}

/** Every PromQL expression of a Grafana dashboard: panel targets (nested rows too) and query variables. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const visitPanels = (panels: unknown) => {
    if (!Array.isArray(panels)) return;
    for (const p of panels as Array<{ targets?: Array<{ expr?: unknown }>; panels?: unknown }>) {
      for (const t of p.targets ?? []) if (typeof t.expr === "string" && t.expr.trim()) out.push(t.expr);
      visitPanels(p.panels);
    }
  };
  const d = dashboard as {
    panels?: unknown;
    templating?: { list?: Array<{ type?: string; query?: unknown }> };
  };
  visitPanels(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const q = typeof v.query === "string" ? v.query : (v.query as { query?: string } | undefined)?.query;
    if (!q) continue;
    // label_values(metric{...}, label) and query_result(expr) name metrics; label_values(label) alone does not.
    const lv = /^\s*label_values\(\s*(.+?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/.exec(q);
    const qr = /^\s*query_result\((.*)\)\s*$/.exec(q);
    if (lv) out.push(lv[1]!);
    else if (qr) out.push(qr[1]!);
  }
  return out;
}

/** Sample names in Prometheus text exposition (what a query can select, suffixes included). */
export function exposedMetricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}
