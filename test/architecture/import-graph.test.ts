import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { checkImportGraph, isTestOnly, unitOf } from "./import-graph.js";

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), "fixture");
const messages = (root: string) => checkImportGraph(root).map((v) => `${v.rule} | ${v.message}`);

// One fixture tree per rule (see fixture/README.md): exactly these violations, nothing more.
const PLANTED: Record<string, string[]> = {
  cycle: [
    "component-imports | components/alpha/spec.ts imports components/beta/util.ts: a component may import only components/common and components/models, not components/beta",
    "component-imports | components/beta/index.ts imports components/alpha/spec.ts: a component may import only components/common and components/models, not components/alpha",
    "folder-cycle | cycle between folders: components/alpha -> components/beta -> components/alpha; the edges among them:" +
      "\n    components/alpha -> components/beta: components/alpha/spec.ts imports components/beta/util.ts [not allowed]" +
      "\n    components/beta -> components/alpha: components/beta/index.ts imports components/alpha/spec.ts [not allowed]",
  ],
  "components-outward": [
    "components-outward | components/common/log.ts imports pipelines/run.ts: components may not import pipelines",
    "components-outward | components/models/flags.ts imports cli/flags.ts: components may not import cli",
    "components-outward | components/score/load.ts imports functions/handler.ts: components may not import functions",
    "components-outward | components/score/parallel.ts imports serving/worker.ts: components may not import serving",
    "components-outward | components/score/spec.ts imports serving/batch-client/client.ts: components may not import serving",
  ],
  "common-imports-component": [
    "common-imports-component | components/common/bundle.ts imports components/models/logistic.ts: components/common may not import components/models",
    "common-imports-component | components/common/component/registry.ts imports components/score/spec.ts: components/common may not import components/score",
    "common-imports-component | components/common/list.ts imports components/index.ts: components/common may not import components",
  ],
  "component-imports": [
    "component-imports | components/models/gbdt/fit.ts imports components/train/rows.ts: components/models may import only components/common, not components/train",
    "component-imports | components/score/list.ts imports components/index.ts: a component may import only components/common and components/models, not components",
    "component-imports | components/score/spec.ts imports components/train/rows.ts: a component may import only components/common and components/models, not components/train",
  ],
  direction: [
    "direction | functions/on-upload.ts imports cli/flags.ts: functions may not import cli",
    "direction | pipelines/run.ts imports cli/flags.ts: pipelines may not import cli",
    "direction | pipelines/run.ts imports functions/events.ts: pipelines may not import functions",
    "direction | pipelines/run.ts imports serving/core.ts: pipelines may not import serving",
    "direction | serving/server.ts imports cli/flags.ts: serving may not import cli",
    "direction | serving/server.ts imports functions/events.ts: serving may not import functions",
  ],
  "computed-import": [
    'computed-import | serving/codecs.ts imports a computed specifier ("./codecs/" + name + ".js"): import() and require() must take a string literal so the import graph sees the edge',
    "computed-import | serving/inference-core.ts imports a computed specifier (new URL(specifier, import.meta.url).href): import() and require() must take a string literal so the import graph sees the edge",
  ],
  "test-helpers": [
    "test-helper-import | serving/server.ts imports serving/testing/index.ts: production code may not import test helpers",
  ],
  "outside-source": [
    "outside-source | pipelines/run.ts imports test/support/kube.ts: pipelines may not import files outside cli, pipelines, functions, serving, components",
  ],
};

describe("checkImportGraph on the fixture trees", () => {
  it.each(Object.entries(PLANTED))("%s: rejects exactly the planted imports", (name, expected) => {
    expect(messages(join(FIXTURE, name))).toEqual(expected);
  });

  it("accepts the clean tree, which uses every edge the rules allow", () => {
    expect(messages(join(FIXTURE, "clean"))).toEqual([]);
  });

  it("gives the line of each import", () => {
    const lines = checkImportGraph(join(FIXTURE, "direction")).map((v) => `${v.file}:${v.line}`);
    expect(lines).toEqual([
      "functions/on-upload.ts:1",
      "pipelines/run.ts:1",
      "pipelines/run.ts:2",
      "pipelines/run.ts:3",
      "serving/server.ts:1",
      "serving/server.ts:2",
    ]);
  });
});

describe("checkImportGraph on generated trees", () => {
  let root = "";
  const tree = (files: Record<string, string>) => {
    root = mkdtempSync(join(tmpdir(), "import-graph-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  };
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("leaves *.test.ts out as importers, but not as imports of production code", () => {
    const r = tree({
      "components/score/spec.test.ts": 'import "../../serving/core.js";\nimport "../../cli/flags.js";\n',
      "components/score/spec.ts": 'import { helper } from "./spec.test.js";\n',
      "serving/core.ts": "",
      "cli/flags.ts": "",
    });
    expect(messages(r)).toEqual([
      "test-helper-import | components/score/spec.ts imports components/score/spec.test.ts: production code may not import test helpers",
    ]);
  });

  it("flags a relative specifier that names no file", () => {
    const r = tree({ "pipelines/run.ts": 'export const m = () => import("./missing.js");\n' });
    expect(messages(r)).toEqual([
      'unresolved | pipelines/run.ts imports "./missing.js", which names no file',
    ]);
  });

  it("counts require(), import = require(), typeof import() and folder index files", () => {
    const r = tree({
      "components/score/a.ts": 'const core = require("../../serving/core.js");\n',
      "components/score/b.ts": 'import cli = require("../../cli/flags.js");\n',
      "components/score/c.ts": 'export type P = typeof import("../../pipelines/run.js");\n',
      "components/score/d.ts": 'export * from "../../functions";\n',
      "serving/core.ts": "",
      "cli/flags.ts": "",
      "pipelines/run.ts": "",
      "functions/index.ts": "",
    });
    expect(messages(r)).toEqual([
      "components-outward | components/score/a.ts imports serving/core.ts: components may not import serving",
      "components-outward | components/score/b.ts imports cli/flags.ts: components may not import cli",
      "components-outward | components/score/c.ts imports pipelines/run.ts: components may not import pipelines",
      "components-outward | components/score/d.ts imports functions/index.ts: components may not import functions",
    ]);
  });

  it("reports a set of folders in a cycle once, with its shortest cycle and every edge inside it", () => {
    const r = tree({
      "components/a/x.ts": 'import "../b/x.js";\n',
      "components/b/x.ts": 'import "../a/x.js";\nimport "../c/x.js";\n',
      "components/c/x.ts": 'import "../b/x.js";\nimport "../../pipelines/run.js";\n',
      "pipelines/run.ts": 'import "../components/common/errors.js";\n',
      "components/common/errors.ts": "",
    });
    const cycles = checkImportGraph(r).filter((v) => v.rule === "folder-cycle");
    expect(cycles.map((v) => v.message)).toEqual([
      "cycle between folders: components/a -> components/b -> components/a" +
        " (within 3 folders: components/a, components/b, components/c); the edges among them:" +
        "\n    components/a -> components/b: components/a/x.ts imports components/b/x.ts [not allowed]" +
        "\n    components/b -> components/a: components/b/x.ts imports components/a/x.ts [not allowed]" +
        "\n    components/b -> components/c: components/b/x.ts imports components/c/x.ts [not allowed]" +
        "\n    components/c -> components/b: components/c/x.ts imports components/b/x.ts [not allowed]",
    ]);
  });
});

describe("the unit table", () => {
  it.each([
    ["cli/commands/score.ts", "cli"],
    ["serving/protocols/v2.ts", "serving"],
    ["serving/console/app.ts", "serving"],
    ["components/common/storage/gcs.ts", "components/common"],
    ["components/models/gbdt/fit.ts", "components/models"],
    ["components/score/explain/treeshap.ts", "components/score"],
    ["components/index.ts", "components"],
    ["test/support/kube.ts", null],
    ["bench/score.ts", null],
    ["package.json", null],
  ])("%s is in %s", (path, unit) => {
    expect(unitOf(path)?.name ?? null).toBe(unit);
  });

  it.each([
    ["serving/server.test.ts", true],
    ["serving/testing/index.ts", true],
    ["components/train/gbdt/testdata.ts", true],
    ["serving/server.ts", false],
    ["components/common/schema/testdata-like.ts", false],
  ])("%s is test-only: %s", (path, testOnly) => {
    expect(isTestOnly(path)).toBe(testOnly);
  });
});
