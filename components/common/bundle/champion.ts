import { z } from "zod";
import { parseDocument } from "../documents/parse.js";
import { ConflictError, InputError, NotFoundError, UsageError } from "../errors.js";
import { bundleObject, CHAMPION_OBJECT, isModelVersion, writtenBy } from "../layout/index.js";
import type { Storage } from "../storage/index.js";
import { readBundle } from "./bundle.js";

/**
 * `models/champion` is the authoritative pointer to the live model (DESIGN).
 * It keeps the versions it replaced, newest first, so rollback needs no other
 * state. Every change is a conditional write on the pointer's generation: two
 * concurrent promotions cannot both win silently.
 */

const championSchema = z.strictObject({
  version: z.string(),
  previous: z.array(z.string()),
  reason: z.string(),
  changed_at: z.string(),
});
export type ChampionPointer = z.infer<typeof championSchema>;

/** The current champion pointer and its generation, or null when there is none. */
export async function readChampion(
  storage: Storage,
): Promise<{ pointer: ChampionPointer; generation: string } | null> {
  const info = await storage.stat(CHAMPION_OBJECT);
  if (!info) return null;
  const text = await storage.readText(CHAMPION_OBJECT);
  try {
    return { pointer: parseDocument(championSchema, text, CHAMPION_OBJECT), generation: info.generation };
  } catch (error) {
    // Accept a bare version written by hand (`echo <version> | gsutil cp - .../champion`).
    const version = text.trim();
    if (isModelVersion(version)) {
      return {
        pointer: { version, previous: [], reason: "set by hand", changed_at: info.updated.toISOString() },
        generation: info.generation,
      };
    }
    throw new InputError(`${(error as Error).message} (nor is it a bare model version)`);
  }
}

async function writePointer(
  storage: Storage,
  pointer: ChampionPointer,
  generation: string | 0,
  writer: string,
): Promise<void> {
  try {
    await storage.write(CHAMPION_OBJECT, `${JSON.stringify(pointer, null, 2)}\n`, {
      ifGenerationMatch: generation,
      contentType: "application/json",
      metadata: writtenBy(writer),
    });
  } catch (error) {
    if (error instanceof ConflictError) {
      throw new ConflictError("the champion changed while this change was being made: look again and retry", {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Refuse to make a damaged bundle live: a bundle.json that is not JSON,
 * fails the schema or no longer hashes to its version (InputError, exit 2).
 */
async function checkUsable(storage: Storage, version: string, action: string): Promise<void> {
  try {
    await readBundle(storage, version);
  } catch (error) {
    if (error instanceof InputError)
      throw new InputError(`cannot ${action} ${version}: the bundle is damaged: ${error.message}`, {
        cause: error,
      });
    throw error;
  }
}

/** Make `version` the champion. Refuses an incomplete, missing or damaged bundle. */
export async function promote(
  storage: Storage,
  version: string,
  reason: string,
  writer = "promote",
  now = () => new Date(),
): Promise<ChampionPointer> {
  if (!(await storage.stat(bundleObject(version)))) {
    throw new NotFoundError(
      `cannot promote ${version}: ${bundleObject(version)} does not exist (incomplete or unknown bundle)`,
    );
  }
  await checkUsable(storage, version, "promote");
  const current = await readChampion(storage);
  if (current?.pointer.version === version) return current.pointer;
  const pointer: ChampionPointer = {
    version,
    previous: current ? [current.pointer.version, ...current.pointer.previous].slice(0, 50) : [],
    reason,
    changed_at: now().toISOString(),
  };
  await writePointer(storage, pointer, current?.generation ?? 0, writer);
  return pointer;
}

/** Go back to the champion before the current one (refused when that bundle is damaged). */
export async function rollback(
  storage: Storage,
  reason = "rollback",
  writer = "rollback",
  now = () => new Date(),
): Promise<ChampionPointer> {
  const current = await readChampion(storage);
  if (!current) throw new UsageError("there is no champion to roll back");
  const [target, ...rest] = current.pointer.previous;
  if (!target) throw new UsageError(`champion ${current.pointer.version} has no predecessor to roll back to`);
  if (await storage.stat(bundleObject(target))) await checkUsable(storage, target, "roll back to");
  const pointer: ChampionPointer = {
    version: target,
    previous: rest,
    reason,
    changed_at: now().toISOString(),
  };
  await writePointer(storage, pointer, current.generation, writer);
  return pointer;
}
