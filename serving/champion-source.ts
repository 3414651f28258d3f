import { CHAMPION_OBJECT } from "../components/common/layout/index.js";
import type { Storage } from "../components/common/storage/index.js";
import type { InferenceModel } from "../components/models/inference.js";
import type { ModelSource } from "./core.js";

/**
 * A ModelSource for the `churn` model that follows `models/champion` in a
 * bucket (DESIGN: the server follows the pointer). It loads through a loader
 * given to it (the predictor's `loadChampionModel`), as `lifetimeSource` does
 * for the lifetime model, and polls the pointer's generation:
 * one cheap stat per interval, the same on gs:// and file://.
 */
export interface ChampionSourceOptions {
  /** How often to look at the pointer, in milliseconds. */
  pollMs?: number;
  /** Called when a poll itself fails (the served model stays). */
  onPollError?: (error: unknown) => void;
}

/** Follow the champion pointer of `storage`, loading models with `load`. */
export function championSource(
  storage: Storage,
  load: (storage: Storage) => Promise<InferenceModel>,
  options: ChampionSourceOptions = {},
): ModelSource<"churn"> {
  const pollMs = options.pollMs ?? 5_000;
  let seen: string | null | undefined;
  return {
    name: "churn",
    async load() {
      // The generation is taken before loading (a change during the load triggers another
      // one) and kept only once the load succeeds (a failed load is retried at the next poll).
      const generation = (await storage.stat(CHAMPION_OBJECT))?.generation ?? null;
      // No pointer yet (a fresh bucket): nothing to load, not a failure; the poll sees it appear.
      if (generation === null) {
        seen = null;
        return null;
      }
      const model = await load(storage);
      seen = generation;
      return model;
    },
    watch(onChange) {
      let busy = false;
      const timer = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const generation = (await storage.stat(CHAMPION_OBJECT))?.generation ?? null;
          if (seen !== undefined && generation !== seen && generation !== null) onChange();
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
