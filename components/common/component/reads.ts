import { parseConfigText } from "../config/load.js";
import type { ChurnConfig } from "../config/schema.js";
import { hashJson } from "../hash.js";
import type { ConfigSection } from "./spec.js";

/** The input port through which a step reads churn.yaml. */
export const CONFIG_PORT = "config";

/**
 * The effective settings a component reads: the declared sections of the
 * parsed config, defaults filled in. Comments, formatting, key order and the
 * other sections are not in it.
 */
export function effectiveSettings(
  config: ChurnConfig,
  reads: readonly ConfigSection[],
): Partial<Record<ConfigSection, unknown>> {
  const picked: Partial<Record<ConfigSection, unknown>> = {};
  for (const section of [...reads].sort()) picked[section] = config[section];
  return picked;
}

/**
 * What a step's cache key counts for its churn.yaml input: the hash of the
 * canonical JSON of the effective settings it reads. An invalid churn.yaml
 * throws the ConfigError the step itself would (exit 2, every problem named).
 */
export function configDigest(text: string, where: string, reads: readonly ConfigSection[]): string {
  return hashJson({ config_sections: effectiveSettings(parseConfigText(text, where), reads) });
}
