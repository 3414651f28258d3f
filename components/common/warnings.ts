import { z } from "zod";

/**
 * What a step notices and people must see (a leak, columns left out, unseen
 * categories, drift, few positives): one shape everywhere. A component
 * returns its warnings; the runner records them in output.json and run.json
 * with the step's name, prints them under the step and in the run's closing
 * lines, and hands them to the report step, which puts them at the top of
 * report.html and in summary.json. The console shows them on the run page.
 */
export const stepWarningSchema = z.strictObject({
  /** A stable machine code, e.g. `likely-leak`, `id-like`, `unseen-categories`. */
  code: z.string().min(1),
  /** The column it is about, or null for the whole step. */
  column: z.string().nullable(),
  /** One sentence for people. */
  message: z.string().min(1),
});
export type StepWarning = z.infer<typeof stepWarningSchema>;

/** A warning with the step that raised it, as run.json, summary.json and the report carry it. */
export const warningSchema = stepWarningSchema.extend({ step: z.string().min(1) });
export type Warning = z.infer<typeof warningSchema>;

/** A step's warnings with its name. */
export function warningsOf(step: string, warnings: readonly StepWarning[]): Warning[] {
  return warnings.map((w) => ({ step, ...w }));
}

/** One line per warning, as the terminal and notifications show them. */
export function describeWarning(warning: Warning): string {
  return `${warning.step}: ${warning.message}`;
}
