import { LIFETIME_MODELS_PREFIX } from "../components/common/layout/index.js";
import type { ObjectInfo, Storage } from "../components/common/storage/index.js";
import type { LifetimeInferenceModel } from "../components/models/lifetime/model.js";
import type { ModelSource } from "./core.js";

/**
 * A ModelSource for the `lifetime` model: the newest `models/lifetime/*.json`
 * in the bucket, as written by fit-lifetime. It loads through a loader given
 * to it (`loadLifetimeModel` of the model family), as `championSource` does
 * for churn, and polls the listing. A bucket without a lifetime model gives
 * null (nothing to load), not an error: churn is served without it.
 */

export interface LifetimeSourceOptions {
  /** How often to list models/lifetime/, in milliseconds. */
  pollMs?: number;
  /** Called when a poll itself fails (the served model stays). */
  onPollError?: (error: unknown) => void;
}

/** The newest model object by update time (name breaks ties so the choice is stable). */
async function newest(storage: Storage): Promise<ObjectInfo | null> {
  const objects = (await storage.list(LIFETIME_MODELS_PREFIX)).filter(
    (o) => o.name.endsWith(".json") && !o.name.slice(LIFETIME_MODELS_PREFIX.length).includes("/"),
  );
  let best: ObjectInfo | null = null;
  for (const o of objects) {
    const t = o.updated.getTime();
    const b = best?.updated.getTime() ?? Number.NEGATIVE_INFINITY;
    if (!best || t > b || (t === b && o.name > best.name)) best = o;
  }
  return best;
}

/** Follow the newest lifetime model of `storage`, parsing each document with `load` (text, object name). */
export function lifetimeSource(
  storage: Storage,
  load: (text: string, object: string) => LifetimeInferenceModel,
  options: LifetimeSourceOptions = {},
): ModelSource<"lifetime"> {
  const pollMs = options.pollMs ?? 5_000;
  const key = (o: ObjectInfo | null) => (o ? `${o.name}@${o.generation}` : "");
  let seen: string | undefined;
  return {
    name: "lifetime",
    async load() {
      // The object seen is noted before reading: a broken newest file is not retried at every
      // poll, only when the listing changes again (a newer file, or this one rewritten).
      const info = await newest(storage);
      seen = key(info);
      if (!info) return null;
      return load(await storage.readText(info.name), info.name);
    },
    watch(onChange) {
      let busy = false;
      const timer = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const current = key(await newest(storage));
          if (seen !== undefined && current !== seen) onChange();
        } catch (error) {
          options.onPollError?.(error);
        } finally {
          busy = false;
        }
      }, pollMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
