import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ENTRY_MODULE, moduleDirCandidates } from "./static-files.js";

// The pages are type-checked for real: the browser program (browser/tsconfig.json)
// holds every page module and the API types the server declares, both package.json
// scripts run it, and its output lands where the server looks for the modules.
// Read with the compiler's own config parser (no type check, well under a second).

const ROOT = resolve(import.meta.dirname, "..", "..");
const BROWSER = join(import.meta.dirname, "browser");
const BROWSER_CONFIG = "serving/console/browser/tsconfig.json";

function program(config: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, config),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
      },
    },
  );
  const problems = parsed?.errors.map((e) => ts.flattenDiagnosticMessageText(e.messageText, "\n")) ?? [];
  if (!parsed || problems.length) throw new Error(`${config} cannot be read: ${problems.join("; ")}`);
  return parsed;
}

const pageSources = readdirSync(BROWSER, { recursive: true, encoding: "utf8" })
  .filter((name) => name.endsWith(".ts"))
  .map((name) => join(BROWSER, name));

describe("the browser program", () => {
  const browser = program(BROWSER_CONFIG);
  const files = new Set(browser.fileNames.map((f) => resolve(f)));

  it("checks every page module, with the DOM library and strict types", () => {
    expect(pageSources.length).toBeGreaterThanOrEqual(10);
    expect(pageSources.filter((f) => !files.has(f))).toEqual([]);
    expect(browser.options.lib).toEqual(expect.arrayContaining(["lib.dom.d.ts"]));
    expect(browser.options.strict).toBe(true);
    expect(browser.options.noEmit).toBeFalsy();
  });

  it("emits the entry module where the server looks for it", () => {
    const outputs = ts.getOutputFileNames(browser, join(BROWSER, "app.ts"), false).map((f) => resolve(f));
    const entry = outputs.find((f) => f.endsWith(".js"));
    expect(entry && dirname(entry)).toBe(moduleDirCandidates()[1]);
    expect(entry?.endsWith(`${sep}${ENTRY_MODULE}`)).toBe(true);
  });

  it("is the only program that compiles the pages: the server's programs leave them out", () => {
    for (const config of ["tsconfig.json", "tsconfig.build.json"]) {
      const server = program(config).fileNames.map((f) => resolve(f));
      expect(
        server.filter((f) => f.startsWith(BROWSER + sep)),
        config,
      ).toEqual([]);
      // The API types are in both: the server declares its answers with them, the pages read them.
      expect(server, config).toContain(join(import.meta.dirname, "api-types.ts"));
    }
  });
});

describe("package.json", () => {
  const scripts = (
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  ).scripts;
  const commands = (script: string) => (scripts[script] ?? "").split("&&").map((c) => c.trim());

  it("type-checks the pages in `npm run typecheck` and emits them in `npm run build`", () => {
    expect(commands("typecheck")).toContain(`tsc -p ${BROWSER_CONFIG} --noEmit`);
    expect(commands("build")).toContain(`tsc -p ${BROWSER_CONFIG}`);
  });
});
