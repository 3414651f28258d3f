/**
 * The import-graph check of DESIGN's "(rule)" row: imports point one way (cli -> pipelines ->
 * components -> components/common; serving and functions -> components), there are no cycles
 * between folders, and a component imports only `components/common` and `components/models`.
 *
 * It reads every source file with the TypeScript compiler API (its import pre-processor, or a
 * syntax tree where a call may hide an import; no type checking, so the whole tree takes well
 * under a second), resolves relative specifiers to files (`./x.js` in source is `./x.ts` on
 * disk), maps each file to its folder unit (UNITS below) and checks every import edge against
 * one table of what each layer may import (MAY_IMPORT).
 *
 * Counted as imports: `import ... from`, `import type`, side-effect `import "x"`, `export ... from`,
 * `import x = require()`, `import("x")` with a string literal (also in type position:
 * `typeof import("x")`), `require("x")`, and `new Worker(new URL("x", import.meta.url))`.
 * An `import()` or `require()` whose argument is not a string literal is a violation in itself:
 * it hides an edge from this check.
 *
 * Usage: npx tsx test/architecture/import-graph.ts [root]   (prints violations; exit 1 when any)
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

/** The layers of DESIGN's layout; the rules are written in terms of these. */
export type Layer =
  | "cli"
  | "pipelines"
  | "functions"
  | "serving"
  | "registry"
  | "component"
  | "models"
  | "common";

/**
 * The folder units of the graph, in one table. A file belongs to the first row whose pattern
 * matches its path (relative to the root, "/"-separated). `<name>` matches one folder name and
 * makes each such folder its own unit (components/score, components/train, ...); `**` matches
 * the rest of the path (subfolders included, so `serving/protocols` is part of `serving`); `*`
 * matches one file name. The unit's name is the pattern up to `/**` or `/*`.
 */
export const UNITS: readonly { pattern: string; layer: Layer; why: string }[] = [
  { pattern: "cli/**", layer: "cli", why: "the churn command: the top of the graph" },
  { pattern: "pipelines/**", layer: "pipelines", why: "DAG definitions and runners" },
  { pattern: "functions/**", layer: "functions", why: "cloud functions (CloudEvent handlers)" },
  {
    pattern: "serving/**",
    layer: "serving",
    why: "the model server is one unit: core, protocol adapters, batch client and console",
  },
  { pattern: "components/common/**", layer: "common", why: "shared building blocks" },
  { pattern: "components/models/**", layer: "models", why: "the model families" },
  { pattern: "components/<name>/**", layer: "component", why: "one unit per component folder" },
  {
    pattern: "components/*",
    layer: "registry",
    why: "files directly in components/, such as the component registry (components/index.ts)",
  },
];

/** The folders whose files form the graph: every UNITS pattern starts with one of them. */
export const SOURCE_FOLDERS = ["cli", "pipelines", "functions", "serving", "components"] as const;

/**
 * What each layer may import besides its own unit. Anything not listed is a violation. This is
 * DESIGN's direction (cli -> pipelines -> components -> components/common; serving and functions
 * -> components, and they may use pipelines) read as a strict allowlist: nothing below imports
 * upward, pipelines never imports serving or functions, and serving and functions, being peers,
 * do not import each other. The table is acyclic, so every folder cycle also breaks an edge rule.
 */
export const MAY_IMPORT: Readonly<Record<Layer, readonly Layer[]>> = {
  cli: ["pipelines", "serving", "functions", "registry", "component", "models", "common"],
  serving: ["pipelines", "registry", "component", "models", "common"],
  functions: ["pipelines", "registry", "component", "models", "common"],
  pipelines: ["registry", "component", "models", "common"],
  // The registry lists the components; nothing in components/ may import it back (see below).
  registry: ["component", "models", "common"],
  // A component imports only the shared building blocks and the model families, never another component.
  component: ["models", "common"],
  models: ["common"],
  common: [],
};

/**
 * Files left out of the graph as importers, each with the reason. Tests and their helpers may
 * import across folders to set up fixtures (a serving test builds a real bundle with train, a
 * component test reads a schema fixture of another folder); that couples no production code.
 * Production code importing one of these files is still a violation ("test-helper-import").
 */
export const TEST_ONLY: readonly { pattern: RegExp; why: string }[] = [
  { pattern: /\.test\.tsx?$/, why: "test files: vitest runs them, they never ship" },
  { pattern: /^serving\/testing\//, why: "the server's test harness (fake model, fake server, fixtures)" },
  { pattern: /(^|\/)testdata\.ts$/, why: "shared test data generators beside the code" },
];

/** Which rule an edge or cycle breaks. */
export type Rule =
  | "folder-cycle" // rule 1: a cycle between folder units
  | "components-outward" // rule 2: components/** imports serving, pipelines, cli or functions
  | "common-imports-component" // rule 3: components/common imports another components/ folder
  | "component-imports" // rule 4: a component or components/models imports outside its allowlist
  | "direction" // rule 5: cli -> pipelines -> components; serving, functions -> pipelines, components
  | "computed-import" // import()/require() whose argument is not a string literal
  | "test-helper-import" // production code imports a test file or test helper
  | "outside-source" // production code imports a file outside the source folders (test/, bench/, ...)
  | "unresolved"; // a relative specifier that names no file

/** One broken rule, with a message that names the files and the rule. */
export interface Violation {
  rule: Rule;
  /** The importing file, relative to the root with "/" (for a cycle: the first unit of the cycle). */
  file: string;
  /** 1-based line of the import (0 for a cycle). */
  line: number;
  /** The imported file, relative to the root (absent for cycles and computed imports). */
  target?: string;
  message: string;
}

interface Unit {
  name: string;
  layer: Layer;
}

interface Edge {
  from: string;
  to: string;
  line: number;
}

interface Specifier {
  text: string | null; // null: not a string literal
  source: string; // the argument's source text, for messages
  line: number;
}

/** The violations of the tree at `root` (sorted: edges by file and line, then cycles). */
export function checkImportGraph(root: string): Violation[] {
  const absRoot = resolve(root);
  const files = SOURCE_FOLDERS.flatMap((folder) => listSources(absRoot, folder));
  const violations: Violation[] = [];
  const edges: Edge[] = [];
  const isFile = memo((abs: string) => {
    try {
      return statSync(abs).isFile();
    } catch {
      return false;
    }
  });

  for (const file of files) {
    if (isTestOnly(file)) continue;
    const seen = new Set<string>();
    for (const spec of importsOf(file, readFileSync(join(absRoot, file), "utf8"))) {
      if (spec.text === null) {
        violations.push({
          rule: "computed-import",
          file,
          line: spec.line,
          message: `${file} imports a computed specifier (${spec.source}): import() and require() must take a string literal so the import graph sees the edge`,
        });
        continue;
      }
      if (!spec.text.startsWith(".")) continue; // a package or node: builtin
      const target = resolveRelative(absRoot, file, spec.text, isFile);
      if (target === null) {
        violations.push({
          rule: "unresolved",
          file,
          line: spec.line,
          message: `${file} imports "${spec.text}", which names no file`,
        });
        continue;
      }
      if (target === file || seen.has(target)) continue;
      seen.add(target);
      edges.push({ from: file, to: target, line: spec.line });
    }
  }

  for (const edge of edges) {
    const v = checkEdge(edge);
    if (v) violations.push(v);
  }
  violations.sort((a, b) => compare(a.file, b.file) || a.line - b.line || compare(a.message, b.message));
  violations.push(...folderCycles(edges));
  return violations;
}

/** The rule an import edge breaks, if any, with the most specific message. */
function checkEdge({ from, to, line }: Edge): Violation | null {
  const source = unitOf(from)!;
  const base = { file: from, line, target: to };
  const lead = `${from} imports ${to}`;
  if (isTestOnly(to)) {
    return {
      ...base,
      rule: "test-helper-import",
      message: `${lead}: production code may not import test helpers`,
    };
  }
  const target = unitOf(to);
  if (target === null) {
    return {
      ...base,
      rule: "outside-source",
      message: `${lead}: ${source.name} may not import files outside ${SOURCE_FOLDERS.join(", ")}`,
    };
  }
  if (target.name === source.name || MAY_IMPORT[source.layer].includes(target.layer)) return null;
  const inComponents = (layer: Layer) => ["registry", "component", "models", "common"].includes(layer);
  if (inComponents(source.layer) && !inComponents(target.layer)) {
    return {
      ...base,
      rule: "components-outward",
      message: `${lead}: components may not import ${target.name}`,
    };
  }
  switch (source.layer) {
    case "common":
      return {
        ...base,
        rule: "common-imports-component",
        message: `${lead}: components/common may not import ${target.name}`,
      };
    case "component":
      return {
        ...base,
        rule: "component-imports",
        message: `${lead}: a component may import only components/common and components/models, not ${target.name}`,
      };
    case "models":
      return {
        ...base,
        rule: "component-imports",
        message: `${lead}: components/models may import only components/common, not ${target.name}`,
      };
    default:
      return { ...base, rule: "direction", message: `${lead}: ${source.name} may not import ${target.name}` };
  }
}

/**
 * One violation per strongly connected set of units (Tarjan): breaking every one of these is
 * what "no cycles between folders" asks. The message shows one concrete cycle, then every unit
 * edge inside the set with the first import that makes it.
 */
function folderCycles(edges: readonly Edge[]): Violation[] {
  const graph = new Map<string, Map<string, Edge>>(); // unit -> unit -> first edge (by file, line)
  for (const edge of [...edges].sort((a, b) => compare(a.from, b.from) || a.line - b.line)) {
    const from = unitOf(edge.from)!.name;
    const to = unitOf(edge.to)?.name;
    if (to === undefined || to === from) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    if (!graph.get(from)!.has(to)) graph.get(from)!.set(to, edge);
  }
  const next = (u: string) => [...(graph.get(u)?.keys() ?? [])].sort(compare);

  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (u: string) => {
    index.set(u, index.size);
    low.set(u, index.get(u)!);
    stack.push(u);
    onStack.add(u);
    for (const w of next(u)) {
      if (!index.has(w)) {
        visit(w);
        low.set(u, Math.min(low.get(u)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(u, Math.min(low.get(u)!, index.get(w)!));
      }
    }
    if (low.get(u) === index.get(u)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== u);
      if (scc.length > 1) components.push(scc.sort(compare));
    }
  };
  for (const u of [...graph.keys()].sort(compare)) if (!index.has(u)) visit(u);

  return components
    .sort((a, b) => compare(a[0], b[0]))
    .map((scc) => {
      const members = new Set(scc);
      const inside = scc.flatMap((u) =>
        next(u)
          .filter((w) => members.has(w))
          .map((w) => graph.get(u)!.get(w)!),
      );
      const path = shortestCycle(scc[0], (u) => next(u).filter((w) => members.has(w)));
      const set = path.length - 1 === scc.length ? "" : ` (within ${scc.length} folders: ${scc.join(", ")})`;
      const lines = inside.map((e) => {
        const mark = checkEdge(e) ? " [not allowed]" : "";
        return `\n    ${unitOf(e.from)!.name} -> ${unitOf(e.to)!.name}: ${e.from} imports ${e.to}${mark}`;
      });
      return {
        rule: "folder-cycle" as const,
        file: scc[0],
        line: 0,
        message: `cycle between folders: ${path.join(" -> ")}${set}; the edges among them:${lines.join("")}`,
      };
    });
}

/** The shortest path start -> ... -> start (breadth-first). */
function shortestCycle(start: string, next: (u: string) => string[]): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const u = queue.shift()!;
    for (const w of next(u)) {
      if (w === start) {
        const path = [u];
        while (path[0] !== start) path.unshift(parent.get(path[0])!);
        return [...path, start];
      }
      if (!parent.has(w)) {
        parent.set(w, u);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** The unit of a root-relative path, or null outside every UNITS row. */
export function unitOf(path: string): Unit | null {
  const parts = path.split("/");
  for (const { pattern, layer } of UNITS) {
    const pat = pattern.split("/");
    const name: string[] = [];
    let ok = true;
    for (let i = 0; i < pat.length && ok; i++) {
      const p = pat[i];
      if (p === "**") ok = parts.length > i;
      else if (p === "*") ok = parts.length === i + 1;
      else if (i >= parts.length - 1)
        ok = false; // a folder segment must not be the file name
      else if (p === "<name>") name.push(parts[i]);
      else if (p === parts[i]) name.push(p);
      else ok = false;
    }
    if (ok) return { name: name.join("/"), layer };
  }
  return null;
}

/** True for a test file or test-only helper (TEST_ONLY): left out of the graph as an importer. */
export function isTestOnly(path: string): boolean {
  return TEST_ONLY.some(({ pattern }) => pattern.test(path));
}

/**
 * Only a call can hide an import or carry a computed one: `import(x)`, `require(x)`, `new Worker(...)`.
 * A file with none of these words is read by the compiler's pre-processor (a token scan, several
 * times faster than a parse: most of the tree's files); the others get a full syntax tree.
 */
const CALL_FORMS = /\b(?:import|require)\s*(?:\(|\/[*/])|\bWorker\b/;

/** Every module specifier of one file, in source order. */
export function importsOf(fileName: string, text: string): Specifier[] {
  if (!CALL_FORMS.test(text)) {
    return ts.preProcessFile(text, true, false).importedFiles.map((ref) => ({
      text: ref.fileName,
      source: JSON.stringify(ref.fileName),
      line: lineAt(text, ref.pos),
    }));
  }
  // Syntax only, and no JSDoc (a third of the parse time): imports are never in comments.
  const options = {
    languageVersion: ts.ScriptTarget.Latest,
    jsDocParsingMode: ts.JSDocParsingMode.ParseNone,
  };
  const sf = ts.createSourceFile(fileName, text, options, false, ts.ScriptKind.TS);
  const out: Specifier[] = [];
  const add = (node: ts.Node) => {
    const literal = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node);
    out.push({
      text: literal ? node.text : null,
      source: node.getText(sf),
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
    });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      add(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal);
    } else if (ts.isCallExpression(node) && isImportCall(node)) {
      // import(x) or require(x); a call without an argument is a syntax error tsc reports.
      if (node.arguments.length > 0) add(node.arguments[0]);
    } else if (ts.isNewExpression(node) && isWorkerUrl(node, sf)) {
      const url = node.arguments![0] as ts.NewExpression;
      add(url.arguments![0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** The 1-based line of a position. */
function lineAt(text: string, pos: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < pos; i = text.indexOf("\n", i + 1)) line++;
  return line;
}

function isImportCall(node: ts.CallExpression): boolean {
  if (node.expression.kind === ts.SyntaxKind.ImportKeyword) return true;
  return ts.isIdentifier(node.expression) && node.expression.text === "require";
}

/** `new Worker(new URL("<literal>", import.meta.url), ...)`: a module the worker thread loads. */
function isWorkerUrl(node: ts.NewExpression, sf: ts.SourceFile): boolean {
  if (!ts.isIdentifier(node.expression) || node.expression.text !== "Worker") return false;
  const url = node.arguments?.[0];
  if (!url || !ts.isNewExpression(url) || !ts.isIdentifier(url.expression) || url.expression.text !== "URL") {
    return false;
  }
  const [spec, base] = url.arguments ?? [];
  return spec !== undefined && ts.isStringLiteralLike(spec) && base?.getText(sf) === "import.meta.url";
}

/**
 * The root-relative file a relative specifier names, or null. Source imports name the emitted
 * file (`./x.js`), which is `./x.ts` here; `.mjs`/`.cjs` map to `.mts`/`.cts`. A specifier
 * without an extension may name `x.ts` or `x/index.ts`. Other files (JSON, static assets) are
 * taken as they are.
 */
function resolveRelative(
  root: string,
  file: string,
  specifier: string,
  isFile: (abs: string) => boolean,
): string | null {
  const abs = resolve(root, dirname(file), specifier.split(/[?#]/)[0]);
  const candidates: string[] = [];
  const ext = /\.[cm]?jsx?$/.exec(abs)?.[0];
  if (ext) {
    const stem = abs.slice(0, -ext.length);
    const tsExt = ext.replace("js", "ts");
    candidates.push(stem + tsExt, stem + tsExt.replace(/x?$/, "x"), abs);
  } else {
    candidates.push(abs, `${abs}.ts`, `${abs}.tsx`, join(abs, "index.ts"));
  }
  const found = candidates.find(isFile);
  if (found === undefined) return null;
  return relative(root, found).split(sep).join("/");
}

/** The TypeScript sources under root/folder, root-relative with "/" (sorted). */
function listSources(root: string, folder: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = readdirSync(join(root, rel), { withFileTypes: true });
    } catch {
      return; // the folder does not exist in this tree
    }
    for (const entry of entries) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== "node_modules" && entry.name !== "dist") walk(path);
      } else if (/\.[cm]?tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        out.push(path);
      }
    }
  };
  walk(folder);
  return out.sort(compare);
}

function memo<T>(fn: (key: string) => T): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    if (!cache.has(key)) cache.set(key, fn(key));
    return cache.get(key)!;
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The CLI form: prints the violations of [root] (default: this repository), grouped by rule. */
function main(argv: readonly string[]): number {
  const root = argv[0] ?? join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const started = performance.now();
  const violations = checkImportGraph(root);
  const ms = Math.round(performance.now() - started);
  if (violations.length === 0) {
    console.log(`import graph: no violations (${ms} ms)`);
    return 0;
  }
  const byRule = new Map<Rule, Violation[]>();
  for (const v of violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
  for (const [rule, list] of byRule) {
    console.log(`${rule} (${list.length}):`);
    for (const v of list) console.log(`  ${v.message}${v.line > 0 ? ` (line ${v.line})` : ""}`);
  }
  console.log(`import graph: ${violations.length} violation(s) (${ms} ms)`);
  return 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
