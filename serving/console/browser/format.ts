import type { StepRecord } from "../api-types.js";
import { h } from "./dom.js";

/** How values read on the pages: durations, times, sizes and state badges. */

/** A duration: seconds up to two minutes, then minutes; "–" when unknown. */
export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return "–";
  if (value < 120) return `${value.toFixed(1)} s`;
  return `${(value / 60).toFixed(1)} min`;
}

/** A timestamp as UTC "YYYY-MM-DD hh:mm:ss" in a <time> element; "–" when unknown. */
export function when(iso: string | null | undefined): HTMLTimeElement | string {
  if (!iso) return "–";
  const d = new Date(iso);
  return h("time", { datetime: iso }, d.toISOString().replace("T", " ").slice(0, 19));
}

/** A size in B, KiB or MiB. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A run, step or week state as a coloured badge (style.css has one colour per state). */
export function badge(state: string): HTMLSpanElement {
  return h("span", { class: `badge state-${state}` }, state);
}

/** How a step used the cache, in words; `hit` words a hit from the step that computed the result. */
export function cacheText(step: StepRecord, hit: (from: string | null) => string): string {
  if (step.cache?.hit) return hit(step.cache.from);
  return step.cache ? "miss" : "not cached";
}
