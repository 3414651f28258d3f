import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Issue 22: runPipeline, forgetCustomers and ingest stay split into named
// parts, none longer than ~80 lines. This lists every function (declarations,
// methods, arrows, nested ones too) of those modules that is longer, so a
// part growing back into a long function fails here, with its name and place.
const MAX_LINES = 80;
const root = resolve(import.meta.dirname, "..");
const CHECKED = [
  "pipelines/runner/run.ts",
  ...modulesIn("components/forget"),
  ...modulesIn("components/ingest"),
];

/** The non-test TypeScript modules of one folder (not its subfolders). */
function modulesIn(folder: string): string[] {
  return readdirSync(join(root, folder))
    .filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts"))
    .map((name) => `${folder}/${name}`);
}

interface LongFunction {
  where: string;
  name: string;
  lines: number;
}

function nameOf(node: ts.FunctionLikeDeclaration, file: ts.SourceFile): string {
  if (node.name) return node.name.getText(file);
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText(file);
  if (ts.isConstructorDeclaration(node)) return "constructor";
  return "(anonymous)";
}

/** Every function with a body longer than `max` lines, first line to last, in a module's text. */
function longFunctions(path: string, text: string, max = MAX_LINES): LongFunction[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const found: LongFunction[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const last = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push({ where: `${path}:${first + 1}`, name: nameOf(node, file), lines });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

describe("function length", () => {
  it("finds a long function however it is written", () => {
    const body = Array.from({ length: 80 }, (_, i) => `  const v${i} = ${i};`).join("\n");
    const text = [
      `export function declared() {\n${body}\n}`,
      `const arrow = async () => {\n${body}\n};`,
      `class C {\n  method() {\n${body}\n  }\n}`,
      "function short() {\n  return 1;\n}",
    ].join("\n");
    expect(longFunctions("x.ts", text).map((f) => [f.name, f.lines])).toEqual([
      ["declared", 82],
      ["arrow", 82],
      ["method", 82],
    ]);
  });

  it(`no function in runPipeline, forget or ingest is longer than ${MAX_LINES} lines`, () => {
    expect(CHECKED.length).toBeGreaterThan(20);
    const long = CHECKED.flatMap((path) => longFunctions(path, readFileSync(join(root, path), "utf8")));
    const listed = long.map((f) => `${f.where} ${f.name}: ${f.lines} lines`);
    expect(listed, "split these into named parts").toEqual([]);
  });
});
