import { readFileSync } from "node:fs";

const PACKAGE_NAME = "churn-pipeline";

let cached: string | undefined;

/** The package's version, from the package.json above this file (two folders up in the source tree, three in dist/). */
export function packageVersion(): string {
  cached ??= ((): string => {
    for (const path of ["../../package.json", "../../../package.json"]) {
      try {
        const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === PACKAGE_NAME && pkg.version) return pkg.version;
      } catch {
        // not this folder
      }
    }
    return "unknown";
  })();
  return cached;
}
