import { spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Evaluates expressions of a Terraform module with the real OpenTofu
 * evaluator (`tofu console`) on sample variables, without the Google
 * provider (which no registry reachable here serves, so there is no plan):
 * a scratch folder gets the module's variables.tf (its validations run too),
 * its locals, and one local per expression asked for. Every reference to a
 * resource or data source attribute is replaced by the string
 * "<reference>", so what is evaluated is the module's own logic: conditions,
 * counts, merges and the variables' validations. Refs to locals and
 * variables are evaluated for real.
 */

/** `google_x.name[0].attr...` / `data.google_x.name.attr...`: a resource or data source reference. */
const RESOURCE_REF =
  /\b(?:data\.)?google(?:_[a-z0-9]+)+\.[a-z0-9_]+(?:\[[^\]\s]+\])?(?:\.[a-z0-9_]+(?:\[[0-9]+\])?)*/g;

/** The top-level `locals { ... }` blocks of a canonically formatted (tofu fmt) .tf file. */
function localsBlocks(source: string): string[] {
  return [...source.matchAll(/^locals \{\n[\s\S]*?^\}\n/gm)].map((m) => m[0]);
}

/** A resource's `count = ...` (one line, as this module writes them), or undefined. */
export function countExpression(source: string, type: string, name: string): string | undefined {
  const block = new RegExp(`^resource "${type}" "${name}" \\{\\n([\\s\\S]*?)^\\}\\n`, "m").exec(source)?.[1];
  return block === undefined ? undefined : /^ {2}count\s+=\s+(.+)$/m.exec(block)?.[1];
}

const stubbed = (hcl: string) => hcl.replace(RESOURCE_REF, (ref) => `"<${ref}>"`);

export interface Evaluation {
  /** Each expression's value (as jsonencode gives it), by the name it was asked under. */
  values: Record<string, unknown>;
  /** tofu's error text (a failed validation, an evaluation error), or "" */
  error: string;
}

/**
 * Evaluates `expressions` (name -> HCL expression, may use var.* and local.*)
 * in `moduleDir` with `vars` (-var name=value).
 */
export function evaluateModule(
  tofu: string,
  moduleDir: string,
  vars: Record<string, string>,
  expressions: Record<string, string>,
): Evaluation {
  const scratch = mkdtempSync(join(tmpdir(), "churn-tofu-eval-"));
  try {
    copyFileSync(join(moduleDir, "variables.tf"), join(scratch, "variables.tf"));
    const locals = readdirSync(moduleDir)
      .filter((f) => f.endsWith(".tf"))
      .flatMap((f) => localsBlocks(readFileSync(join(moduleDir, f), "utf8")))
      .map(stubbed);
    const asked = Object.entries(expressions).map(([name, expr]) => `  eval_${name} = ${stubbed(expr)}`);
    writeFileSync(
      join(scratch, "module-locals.tf"),
      `${locals.join("\n")}\nlocals {\n${asked.join("\n")}\n}\n`,
    );
    const all = `jsonencode({ ${Object.keys(expressions)
      .map((name) => `${name} = local.eval_${name}`)
      .join(", ")} })`;
    // TF_CLI_CONFIG_FILE may name a file that does not exist on this machine.
    const { TF_CLI_CONFIG_FILE: _ignored, ...env } = process.env;
    const result = spawnSync(
      tofu,
      ["console", "-no-color", ...Object.entries(vars).flatMap(([k, v]) => ["-var", `${k}=${v}`])],
      { cwd: scratch, input: `${all}\n`, encoding: "utf8", env },
    );
    const error = /Error: [\s\S]*/.exec(result.stderr)?.[0] ?? "";
    if (error || result.status !== 0) return { values: {}, error: error || result.stderr };
    // The console prints the JSON as an HCL string literal; JSON string escapes are the same here.
    const printed = result.stdout.trim().split("\n").at(-1)!;
    return { values: JSON.parse(JSON.parse(printed.replaceAll("$${", "${"))), error: "" };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
