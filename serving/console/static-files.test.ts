import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isModuleName, loadPageFiles } from "./static-files.js";

// The one name rule for compiled page modules, and the set of files it lets
// the static route serve: nothing outside the modules folder, whatever the name.

describe("isModuleName", () => {
  it.each([
    ["app.js", true],
    ["pages/runs.js", true],
    ["charts/dag.js", true],
    ["pages/merge-scores2.js", true],
    ["a/b/c/d.js", true],
    ["../app.js", false],
    ["pages/../app.js", false],
    ["./app.js", false],
    ["..", false],
    [".app.js", false],
    ["pages/.hidden.js", false],
    ["app.js.map", false],
    ["app.ts", false],
    ["app", false],
    ["App.js", false],
    ["/app.js", false],
    ["pages//runs.js", false],
    ["pages/", false],
    ["pages\\runs.js", false],
    ["%2e%2e/app.js", false],
    ["", false],
  ])("%s: %s", (name, expected) => {
    expect(isModuleName(name)).toBe(expected);
  });
});

describe("loadPageFiles", () => {
  const root = mkdtempSync(join(tmpdir(), "console-pages-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("serves the checked-in pages and every module by its nested name, nothing else", () => {
    const modules = join(root, "modules");
    mkdirSync(join(modules, "pages"), { recursive: true });
    writeFileSync(join(root, "secret.js"), "secret");
    writeFileSync(join(modules, "app.js"), "export {};");
    writeFileSync(join(modules, "pages", "runs.js"), "export const runs = 1;");
    writeFileSync(join(modules, "app.js.map"), "{}");
    writeFileSync(join(modules, "Notes.JS"), "not a module name");
    symlinkSync(join(root, "secret.js"), join(modules, "pages", "link.js"));
    const { files, problem } = loadPageFiles(modules);
    expect(problem).toBeNull();
    expect([...files.keys()].sort()).toEqual([
      "app.js",
      "favicon.svg",
      "index.html",
      "pages/runs.js",
      "style.css",
    ]);
    expect(files.get("pages/runs.js")).toEqual({
      type: "text/javascript; charset=utf-8",
      body: Buffer.from("export const runs = 1;"),
    });
  });

  it("says how to build when the modules are missing, and still has the pages", () => {
    const empty = join(root, "empty");
    mkdirSync(empty);
    const { files, problem } = loadPageFiles(empty);
    expect(problem).toBe(
      `the console's page modules are not built (no app.js in ${empty}): run \`npm run build\``,
    );
    expect([...files.keys()].sort()).toEqual(["favicon.svg", "index.html", "style.css"]);
  });
});
