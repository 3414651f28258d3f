import { z } from "zod";

/**
 * output.json `summary` of the ingest component: per-file counts, reasons,
 * first rejects and the detected format. Its own module (zod only) so the
 * step entry can describe a finished ingest without loading the ingest code.
 */
export const ingestSummarySchema = z.strictObject({
  files: z.array(
    z.strictObject({
      object: z.string(),
      rowsIn: z.int(),
      accepted: z.int(),
      rejected: z.int(),
      reasons: z.record(z.string(), z.number()),
      firstRejects: z.array(z.strictObject({ line: z.int(), column: z.string(), reason: z.string() })),
      format: z.strictObject({
        encoding: z.string(),
        bom: z.boolean(),
        gzip: z.boolean(),
        delimiter: z.string(),
        decimal: z.enum([".", ","]),
      }),
      ignoredColumns: z.array(z.string()),
    }),
  ),
  schemaInferred: z.boolean(),
});
export type IngestSummary = z.output<typeof ingestSummarySchema>;
