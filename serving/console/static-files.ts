import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The files the console's pages are made of, and where they are found: the
 * checked-in files of static/ (HTML, CSS, icon) and the ES modules compiled
 * from browser/*.ts by `npm run build`. Both are read once when the app is
 * built and served only by an exact name from that set, so a request can
 * never name a file outside it.
 */

/** The checked-in files of static/ and their content types. */
const CHECKED_IN: Record<string, string> = {
  "index.html": "text/html; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

const MODULE_TYPE = "text/javascript; charset=utf-8";

/**
 * The one rule for a compiled module's name under /static/: folders and a file
 * name of lowercase letters, digits and `-`, ending in `.js` (`app.js`,
 * `pages/runs.js`). No dots elsewhere, so `.`, `..` and hidden files cannot
 * match; source maps and anything else tsc leaves beside the modules are not served.
 */
const MODULE_NAME = /^(?:[a-z0-9][a-z0-9-]*\/)*[a-z0-9][a-z0-9-]*\.js$/;

/** True when `name` may be a compiled page module (see MODULE_NAME). */
export function isModuleName(name: string): boolean {
  return MODULE_NAME.test(name);
}

/** The module index.html loads; the folder that holds it holds the others. */
export const ENTRY_MODULE = "app.js";

const here = dirname(fileURLToPath(import.meta.url));

/** The folder of the checked-in pages: beside this file in the source tree, under the package root in dist/. */
export function staticDir(): string {
  const candidates = [join(here, "static"), resolve(here, "..", "..", "..", "serving", "console", "static")];
  const found = candidates.find((dir) => existsSync(join(dir, "index.html")));
  if (!found) throw new Error(`the console's pages are missing (looked in ${candidates.join(", ")})`);
  return found;
}

/**
 * Where the compiled modules may be, in order: beside this file in dist/ (the
 * browser build emits to dist/serving/console/browser/), and from the source
 * tree the same folder under the package's dist/.
 */
export function moduleDirCandidates(): string[] {
  return [join(here, "browser"), resolve(here, "..", "..", "dist", "serving", "console", "browser")];
}

/** The first of `candidates` that holds the entry module, or what went wrong. */
function findModules(candidates: string[]): { dir: string } | { problem: string } {
  const dir = candidates.find((d) => existsSync(join(d, ENTRY_MODULE)));
  if (dir) return { dir };
  const where = candidates.join(" or ");
  return {
    problem: `the console's page modules are not built (no ${ENTRY_MODULE} in ${where}): run \`npm run build\``,
  };
}

/** A file ready to send. */
export interface PageFile {
  type: string;
  body: Buffer;
}

/** Every compiled module under `dir` (regular files only), by its name under /static/ ("/"-separated). */
function readModules(dir: string): Array<[string, PageFile]> {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((path): [string, string] => [path.split(sep).join("/"), join(dir, path)])
    .filter(([name, path]) => isModuleName(name) && lstatSync(path).isFile())
    .map(([name, path]) => [name, { type: MODULE_TYPE, body: readFileSync(path) }]);
}

/**
 * The console's page files by the name they are served at under /static/.
 * `modules` is the folder of the compiled modules (default: the first of
 * moduleDirCandidates() that holds them); when they are not there, the pages
 * are served without them and `problem` says why and what to do.
 */
export function loadPageFiles(modules?: string): { files: Map<string, PageFile>; problem: string | null } {
  const pages = staticDir();
  const files = new Map<string, PageFile>(
    Object.entries(CHECKED_IN)
      .filter(([name]) => existsSync(join(pages, name)))
      .map(([name, type]) => [name, { type, body: readFileSync(join(pages, name)) }]),
  );
  const found = findModules(modules === undefined ? moduleDirCandidates() : [modules]);
  if ("problem" in found) return { files, problem: found.problem };
  for (const [name, file] of readModules(found.dir)) files.set(name, file);
  return { files, problem: null };
}
