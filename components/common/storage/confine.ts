import { lstat, readlink, realpath } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";

/**
 * Keeping a folder bucket's paths inside its folder. Object names cannot
 * climb out (no `..` segments), but a symbolic link can: `weekly/passwd.csv
 * -> /etc/passwd`, or a whole folder linked elsewhere. A GCS bucket never
 * shows another bucket's objects, so the local driver never follows a link
 * whose real target lies outside the bucket's real root; links that stay
 * inside keep working.
 */

/** A link that leads out of the bucket: its name relative to the root, and where it points (null: a loop of links). */
export interface Escape {
  link: string;
  target: string | null;
}

/** True when a real (link-free) path is the real root or lies under it. */
export function isInside(real: string, realRoot: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : `${realRoot}${sep}`);
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** `a/b` from an absolute path under root (object-name form). */
function nameUnder(root: string, path: string): string {
  return relative(root, path).split(sep).join("/");
}

/**
 * Null when `path` (lexically under `root`) stays under `realRoot` with every
 * link resolved; otherwise the first link on the way that leads out. With
 * `follow` false the last segment is not resolved: a write replaces a link
 * there and a delete removes it, neither touches its target. Segments that do
 * not exist yet are fine: what does not exist cannot be a link. One realpath
 * call on the common path; naming the culprit link costs more, on refusals only.
 */
export async function escapeOf(
  root: string,
  realRoot: string,
  path: string,
  follow: boolean,
): Promise<Escape | null> {
  let probe = follow ? path : dirname(path);
  for (;;) {
    if (probe.length <= root.length) return null;
    try {
      if (isInside(await realpath(probe), realRoot)) return null;
      break;
    } catch (error) {
      const code = codeOf(error);
      if (code === "ELOOP") return { link: nameUnder(root, probe), target: null };
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      probe = dirname(probe);
    }
  }
  // Refused: find the first segment that is a link leading out, to name it.
  let current = root;
  for (const segment of relative(root, probe).split(sep)) {
    current = join(current, segment);
    if (!(await lstat(current)).isSymbolicLink()) continue;
    const real = await realpath(current).catch(() => null);
    if (real === null) return { link: nameUnder(root, current), target: await readlink(current) };
    if (!isInside(real, realRoot)) return { link: nameUnder(root, current), target: real };
  }
  return { link: nameUnder(root, probe), target: await realpath(probe) };
}
