import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { envValue } from "../../components/common/environment.js";

let memo: Promise<string> | undefined;

/** The package root: the nearest folder above this module holding package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the churn package root");
    dir = parent;
  }
  return dir;
}

async function hashTree(root: string, hash: ReturnType<typeof createHash>, rel = ""): Promise<void> {
  const entries = (await readdir(join(root, rel), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  for (const entry of entries) {
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) await hashTree(root, hash, path);
    else if (/\.(js|ts)$/.test(entry.name) && !/\.test\.(js|ts)$/.test(entry.name)) {
      hash.update(path);
      hash.update(await readFile(join(root, path)));
    }
  }
}

/**
 * The code version in a step's cache key (DESIGN): in the cluster the image
 * digest (CHURN_CODE_VERSION, set by the chart from the image reference);
 * locally a hash of the code that runs the components, so editing code
 * invalidates the cache just as a new image does.
 */
export function codeVersion(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const pinned = envValue(env, "CHURN_CODE_VERSION");
  if (pinned) return Promise.resolve(pinned);
  memo ??= (async () => {
    const root = packageRoot();
    const hash = createHash("sha256");
    const dist = join(root, "dist");
    const folders = existsSync(dist) ? [dist] : ["components", "pipelines"].map((f) => join(root, f));
    for (const folder of folders) if (existsSync(folder)) await hashTree(folder, hash);
    return `sha256:${hash.digest("hex").slice(0, 16)}`;
  })();
  return memo;
}
