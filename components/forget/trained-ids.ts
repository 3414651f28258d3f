import { readIdKey, TrainedIdSet } from "../common/bundle/trained-ids.js";
import { MODELS_PREFIX, TRAINED_IDS_FILE, writtenBy } from "../common/layout/index.js";
import type { Storage } from "../common/storage/index.js";

/**
 * `churn forget`'s part of the fair champion contest: every model's
 * trained-id set (`models/<version>/trained-ids.json`) loses the hashes of
 * the forgotten customers. The set is not part of the bundle's content hash,
 * so rewriting it leaves the version intact. A bucket without an id key has
 * no sets. `ids` come in forget's latin1 form (ForgetIds.values()); the
 * sets hash the ids as read from the files (UTF-8), so they are decoded back.
 * Returns how many hashes each rewritten set lost.
 */
export async function forgetTrainedIds(
  storage: Storage,
  ids: readonly string[],
  options: { dryRun: boolean; say: (line: string) => void },
): Promise<Array<{ object: string; removed: number }>> {
  const hasher = await readIdKey(storage, { create: false });
  if (!hasher || ids.length === 0) return [];
  const forgotten = ids.map((id) => hasher.hash(Buffer.from(id, "latin1").toString("utf8")));
  const changed: Array<{ object: string; removed: number }> = [];
  for (const info of await storage.list(MODELS_PREFIX)) {
    if (!info.name.endsWith(`/${TRAINED_IDS_FILE}`)) continue;
    const set = TrainedIdSet.parse(await storage.readText(info.name), info.name);
    const kept = set.without(forgotten);
    const removed = set.size - kept.size;
    if (removed === 0) continue;
    changed.push({ object: info.name, removed });
    if (!options.dryRun) {
      await storage.write(info.name, kept.serialize(), {
        ifGenerationMatch: info.generation,
        contentType: "application/json",
        metadata: writtenBy("forget"),
      });
    }
    options.say(`${options.dryRun ? "would remove" : "removed"} ${removed} id hash(es) from ${info.name}`);
  }
  return changed;
}
