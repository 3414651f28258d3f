import { createHash } from "node:crypto";

/**
 * Canonical JSON: object keys sorted, no whitespace, numbers as JavaScript
 * prints them. Used wherever a hash must not depend on key order (cache keys,
 * run ids, model versions), as Kubeflow does for its cache key.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** Hex sha256 of a string or bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Hex sha256 of a value's canonical JSON. */
export function hashJson(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
