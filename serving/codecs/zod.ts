import type { z } from "zod";
import { UsageError } from "../../components/common/errors.js";

/** Parse a request envelope with a strict zod schema; a failure is a 400 naming the first fields at fault. */
export function parseEnvelope<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
    return `${path.replace(/^\./, "") || "body"}: ${issue.message}`;
  });
  throw new UsageError(`invalid ${what}: ${issues.join("; ")}`, {
    details: { issues: result.error.issues.slice(0, 20) },
  });
}
