import { InputError } from "../components/common/errors.js";
import type { ObjectInfo, Storage } from "../components/common/storage/index.js";
import type { TimeUnit } from "../components/lifetime/summary.js";
import type { BgNbdParams } from "../components/models/lifetime/bgnbd.js";
import { parseLifetimeModel } from "../components/models/lifetime/params.js";

/**
 * Where `POST /predict` gets its lifetime (BG/NBD) model: the newest
 * `models/lifetime/*.json` in the bucket, as written by fit-lifetime. The
 * model is optional: a bucket without one still serves churn.
 */
export const LIFETIME_PREFIX = "models/lifetime/";

/** A loaded lifetime model, ready to answer /predict. */
export interface LoadedLifetime {
  /** model_version: the file name without `.json` (fit-lifetime names it by content hash). */
  version: string;
  /** The object it was loaded from. */
  object: string;
  params: BgNbdParams;
  /** Unit of frequency's window, recency, T and the horizon. */
  timeUnit: TimeUnit;
}

/** Loads the current lifetime model (null when there is none) and optionally reports changes. */
export interface LifetimeSource {
  load(): Promise<LoadedLifetime | null>;
  /** Call `onChange` when a different model may be current; returns a function that stops watching. */
  watch?(onChange: () => void): () => void;
}

export interface LifetimeSourceOptions {
  /** How often to list models/lifetime/, in milliseconds. */
  pollMs?: number;
  /** Called when a poll itself fails (the served model stays). */
  onPollError?: (error: unknown) => void;
}

/** The newest model object by update time (name breaks ties so the choice is stable). */
async function newest(storage: Storage): Promise<ObjectInfo | null> {
  const objects = (await storage.list(LIFETIME_PREFIX)).filter(
    (o) => o.name.endsWith(".json") && !o.name.slice(LIFETIME_PREFIX.length).includes("/"),
  );
  let best: ObjectInfo | null = null;
  for (const o of objects) {
    const t = o.updated.getTime();
    const b = best?.updated.getTime() ?? Number.NEGATIVE_INFINITY;
    if (!best || t > b || (t === b && o.name > best.name)) best = o;
  }
  return best;
}

/** Parse and check a stored lifetime model document; `object` names it in errors. */
export function toLoadedLifetime(text: string, object: string): LoadedLifetime {
  const doc = parseLifetimeModel(text, object);
  if (doc.model !== "bgnbd") {
    // Pareto/NBD has no conditional expected purchases in components/lifetime yet.
    throw new InputError(`${object}: model "${doc.model}" is not served by /predict (only bgnbd)`);
  }
  const name = object.slice(object.lastIndexOf("/") + 1);
  return {
    version: name.replace(/\.json$/, ""),
    object,
    params: { ...doc.params },
    timeUnit: doc.time_unit,
  };
}

/** Follow the newest lifetime model of `storage`, polling the listing. */
export function lifetimeSource(storage: Storage, options: LifetimeSourceOptions = {}): LifetimeSource {
  const pollMs = options.pollMs ?? 5_000;
  const key = (o: ObjectInfo | null) => (o ? `${o.name}@${o.generation}` : "");
  let seen: string | undefined;
  return {
    async load() {
      const info = await newest(storage);
      seen = key(info);
      if (!info) return null;
      return toLoadedLifetime(await storage.readText(info.name), info.name);
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
