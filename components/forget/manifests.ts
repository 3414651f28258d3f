import { type Manifest, manifestText, parseManifest } from "../common/documents/manifest.js";
import { OUTPUT_FILES } from "../common/layout/index.js";
import type { ObjectInfo, Storage } from "../common/storage/types.js";
import type { NewRef } from "./json.js";
import type { ForgetLedger } from "./ledger.js";
import { rewriteOf, writeOptionsFor } from "./publish.js";

/**
 * The manifest of a published folder with the size, sha256 and generation
 * of the files forget rewrote; null when it names none of them (or is no
 * manifest: an older release's `_SUCCESS` is left as it was).
 */
export async function updatedManifest(
  storage: Storage,
  info: ObjectInfo,
  refs: ReadonlyMap<string, NewRef>,
): Promise<Manifest | null> {
  const folder = info.name.slice(0, -OUTPUT_FILES.success.length);
  let manifest: Manifest;
  try {
    manifest = parseManifest(await storage.readText(info.name), info.name);
  } catch {
    return null;
  }
  let changed = false;
  const files = manifest.files.map((file) => {
    const ref = refs.get(`${folder}${file.name}`);
    if (!ref) return file;
    changed = true;
    return { ...file, size: ref.size, sha256: ref.sha256, generation: ref.generation };
  });
  return changed ? { ...manifest, files } : null;
}

/**
 * A published folder whose files were rewritten gets a manifest of the new
 * bytes: readers follow _SUCCESS, and a stale one would make them wait for a
 * publish that never comes. Not in a dry run (nothing was rewritten).
 */
export async function refreshManifests(
  storage: Storage,
  objects: readonly ObjectInfo[],
  ledger: ForgetLedger,
): Promise<void> {
  if (ledger.dryRun) return;
  for (const info of objects.filter((o) => o.name.endsWith(`/${OUTPUT_FILES.success}`))) {
    const updated = await updatedManifest(storage, info, ledger.refs);
    if (!updated) continue;
    const written = await storage.write(info.name, manifestText(updated), {
      ...writeOptionsFor(info),
      contentType: "application/json",
    });
    ledger.noteRewrite(info, rewriteOf(info, "text", 0, 0), written.generation);
  }
}
