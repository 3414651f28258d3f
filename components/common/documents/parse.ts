import type { z } from "zod";
import { InputError } from "../errors.js";

/** Every problem of a failed parse in one line: `path: message; path: message`. */
export function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`).join("; ");
}

/**
 * Parse a stored JSON document with its schema: the one way stored documents
 * are read (no casts). Invalid JSON or a schema mismatch is an InputError
 * naming the document (`where`) and every problem.
 */
export function parseDocument<S extends z.ZodType>(
  schema: S,
  text: string,
  where: string,
  /** What the document is, for the message: "run record", "bundle", ... */
  kind = "document",
): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new InputError(`${where} is not a valid ${kind}: ${formatIssues(result.error)}`);
  return result.data;
}
