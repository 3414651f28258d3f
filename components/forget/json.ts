import { asLatin1, type ForgetIds } from "./ids.js";

/** The new content hash and generation of an object forget rewrote (run records point at objects by hash). */
export interface NewRef {
  sha256: string;
  size: number;
  generation: string;
}

export interface JsonScrubResult {
  value: Json;
  /** Array elements about a forgotten customer that were removed. */
  elementsRemoved: number;
  /** Strings, keys or numbers that mentioned an id and were redacted. */
  redacted: number;
  /** Object references whose hash was brought up to date. */
  refsUpdated: number;
}

const REDACTED = "[forgotten]";

/** A parsed JSON value (what JSON.parse gives back). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(value: Json): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Ids are text in every document we write; numbers are never taken for ids (a weight of 999 is not customer 999). */
function isId(value: Json, ids: ForgetIds): boolean {
  return typeof value === "string" && ids.hasText(value);
}

/**
 * Remove forgotten customers from a parsed JSON document: an array element
 * that is an id, an object with a field that is an id (a row such as
 * `{id, label}`) or a tuple holding an id (`[id, frequency, ...]`, the
 * lifetime customers document) goes; an object key that is an id goes; any other string
 * mentioning an id has the mention replaced by "[forgotten]". Numbers are
 * left alone. Structure is otherwise kept, so run records
 * and summaries still parse. `refs` brings `{object, sha256, size?,
 * generation?}` references to rewritten objects up to date.
 */
export function scrubJson(
  value: Json,
  ids: ForgetIds,
  refs: Map<string, NewRef> = new Map(),
): JsonScrubResult {
  const result = { elementsRemoved: 0, redacted: 0, refsUpdated: 0 };
  const walk = (node: Json): Json => {
    if (typeof node === "string") {
      const latin = /^[^\u0080-\uffff]*$/.test(node) ? node : asLatin1(node);
      const { text, count } = ids.redact(latin, REDACTED);
      if (count === 0) return node;
      result.redacted += count;
      return latin === node ? text : Buffer.from(text, "latin1").toString("utf8");
    }
    if (Array.isArray(node)) {
      const out: Json[] = [];
      for (const element of node) {
        const row =
          isId(element, ids) ||
          (isRecord(element) && Object.values(element).some((v) => isId(v, ids))) ||
          (Array.isArray(element) && element.some((v) => isId(v, ids)));
        if (row) {
          result.elementsRemoved++;
          continue;
        }
        out.push(walk(element));
      }
      return out;
    }
    if (isRecord(node)) {
      const out: { [key: string]: Json } = {};
      for (const [key, child] of Object.entries(node)) {
        if (ids.hasText(key) || ids.mentions(asLatin1(key)).length > 0) {
          result.redacted++;
          continue;
        }
        out[key] = walk(child);
      }
      const ref =
        typeof out.object === "string" && typeof out.sha256 === "string" ? refs.get(out.object) : undefined;
      if (ref && out.sha256 !== ref.sha256) {
        out.sha256 = ref.sha256;
        if ("size" in out) out.size = ref.size;
        if ("generation" in out) out.generation = ref.generation;
        result.refsUpdated++;
      }
      return out;
    }
    return node;
  };
  return { value: walk(value), ...result };
}

/** The JSON value of a text, or undefined when it is not valid JSON. */
export function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** True when a JSON text holds a forgotten id in a string or key (not merely in a number). */
export function jsonHoldsIds(text: string, ids: ForgetIds): boolean {
  if (!ids.mentioned(text)) return false;
  const parsed = parseJson(text);
  if (parsed === undefined) return true;
  const result = scrubJson(parsed, ids);
  return result.elementsRemoved + result.redacted > 0;
}

/** Serialise like the writer did: pretty (2 spaces) when the original was, compact otherwise; keep a final newline. */
export function formatLike(original: string, value: unknown): string {
  const trimmed = original.trimStart();
  const pretty = /^[[{]\s*\n/.test(trimmed);
  const text = pretty ? JSON.stringify(value, null, 2) : JSON.stringify(value);
  return original.endsWith("\n") ? `${text}\n` : text;
}
