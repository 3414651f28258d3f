import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "../errors.js";
import { CONFIG_OBJECT } from "../layout/index.js";
import type { Storage } from "../storage/types.js";
import { type ChurnConfig, churnConfigSchema } from "./schema.js";

/** One problem found in a config document, naming the field. */
export interface ConfigProblem {
  field: string;
  message: string;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turn zod issues into one sentence per field: the field, the value and what was expected. */
export function describeIssues(issues: z.core.$ZodIssue[]): ConfigProblem[] {
  return issues.flatMap((issue) => {
    const base = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        field: base ? `${base}.${key}` : key,
        message: "is not a known setting (unknown keys are refused; see `churn config schema`)",
      }));
    }
    const input = (issue as { input?: unknown }).input;
    let message = issue.message.replace(/^Invalid input: /, "");
    if (issue.code !== "custom") message = `got ${describeValue(input)}: ${message}`;
    return [{ field: base || "(top level)", message }];
  });
}

/**
 * Validate a parsed config value. Throws one ConfigError listing every problem
 * (not only the first), each naming its field.
 */
export function parseConfig(value: unknown, source = CONFIG_OBJECT): ChurnConfig {
  const result = churnConfigSchema.safeParse(value ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const problems = describeIssues(result.error.issues);
  const lines = problems.map((p) => `  ${p.field}: ${p.message}`);
  throw new ConfigError(
    `${source} is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`,
    { details: { problems } },
  );
}

/** Parse YAML text into a validated config; YAML syntax errors name line and column. */
export function parseConfigText(text: string, source = CONFIG_OBJECT): ChurnConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const where = first.linePos?.[0]
      ? ` at line ${first.linePos[0].line}, column ${first.linePos[0].col}`
      : "";
    throw new ConfigError(`${source} is not valid YAML${where}: ${first.message.split("\n")[0]}`);
  }
  return parseConfig(doc.toJS(), source);
}

/** Read and validate `churn.yaml` from a bucket. */
export async function loadConfig(storage: Storage): Promise<ChurnConfig> {
  const info = await storage.stat(CONFIG_OBJECT);
  if (!info) {
    throw new ConfigError(
      `${storage.uri}/${CONFIG_OBJECT} does not exist: create it (see \`churn init\` for an example) before running`,
    );
  }
  return parseConfigText(await storage.readText(CONFIG_OBJECT), `${storage.uri}/${CONFIG_OBJECT}`);
}
