import { ChurnError } from "../components/common/errors.js";
import type { Storage } from "../components/common/storage/index.js";
import type { InferenceModel } from "./core.js";

/**
 * The bridge to the real inference core, components/score/predictor.ts,
 * which exports `loadChampionModel(storage)`. It is imported at run time so
 * the server builds and its tests run before that module exists; until then
 * `churn serve` stops with one clear sentence (exit 1).
 */
export type ChampionLoader = (storage: Storage) => Promise<InferenceModel>;

// Kept in a variable so the compiler does not require the module to exist yet.
const PREDICTOR_MODULE = "../components/score/predictor.js";

/** The inference core's champion loader, or a ChurnError (exit 1) when the core is not available. */
export async function championLoader(specifier = PREDICTOR_MODULE): Promise<ChampionLoader> {
  let mod: { loadChampionModel?: unknown };
  try {
    mod = (await import(new URL(specifier, import.meta.url).href)) as { loadChampionModel?: unknown };
  } catch (error) {
    if ((error as { code?: string }).code === "ERR_MODULE_NOT_FOUND") {
      throw new ChurnError("the inference core is not available yet (components/score/predictor.ts)", {
        cause: error,
      });
    }
    throw error;
  }
  if (typeof mod.loadChampionModel !== "function") {
    throw new ChurnError(
      "the inference core is not available yet: components/score/predictor.ts exports no loadChampionModel(storage)",
    );
  }
  return mod.loadChampionModel as ChampionLoader;
}
