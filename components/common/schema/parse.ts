import { z } from "zod";
import { InputError } from "../errors.js";
import type { DatasetSchema } from "./types.js";

/** zod mirror of DatasetSchema (types.ts), for schema.json read back from a bucket. */
export const datasetSchemaSchema = z.strictObject({
  version: z.literal(1),
  columns: z.array(
    z.strictObject({
      name: z.string(),
      type: z.enum(["numeric", "categorical", "boolean", "date"]),
      role: z.enum(["id", "label", "exclude", "pii", "passthrough", "feature"]),
      missingTokens: z.array(z.string()),
      categories: z.array(z.string()).optional(),
      trueValues: z.array(z.string()).optional(),
      falseValues: z.array(z.string()).optional(),
      dateFormat: z.string().optional(),
      integer: z.boolean().optional(),
    }),
  ),
  idColumn: z.string(),
  generatedId: z.boolean(),
  label: z.strictObject({ column: z.string(), positive: z.string() }).optional(),
  source: z.strictObject({
    delimiter: z.string(),
    encoding: z.string(),
    decimal: z.enum([".", ","]),
    gzip: z.boolean(),
  }),
});

/** Parse a recorded schema.json; InputError naming the source and the first problems. */
export function parseDatasetSchema(text: string, where: string): DatasetSchema {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${where} is not valid JSON: ${(error as Error).message}`);
  }
  const result = datasetSchemaSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.slice(0, 5).map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new InputError(`${where} is not a dataset schema written by ingest: ${problems.join("; ")}`);
  }
  return result.data as DatasetSchema;
}
