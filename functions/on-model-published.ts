import type { StoredBundle } from "../components/common/bundle/index.js";
import { readBundle, readChampion } from "../components/common/bundle/index.js";
import { ChurnError } from "../components/common/errors.js";
import { bundleObject, CHAMPION_OBJECT, versionOfBundleObject } from "../components/common/layout/index.js";
import type { Logger } from "../components/common/log.js";
import type { Storage } from "../components/common/storage/index.js";
import { type CloudEventLike, parseStorageEvent } from "./events.js";
import type { ModelServerRoller } from "./model-server.js";

/**
 * The model registry the bucket is mirrored into (MLflow when
 * `mlflow.tracking_uri` is set). The bucket stays authoritative (DESIGN).
 */
export interface ModelRegistryMirror {
  /** Register a complete bundle as a model version; idempotent per version. */
  registerBundle(storage: Storage, stored: StoredBundle): Promise<string>;
  /** Point the `champion` alias at `version`; idempotent. */
  setChampion(version: string): Promise<string>;
}

/** Clients the model trigger works with. */
export interface ModelPublishedDeps {
  openBucket(bucket: string): Promise<Storage | null>;
  /** null or absent: no registry configured, the bucket alone is the registry. */
  registry?: ModelRegistryMirror | null;
  /** Used when `registry` is absent: the registry a bucket is mirrored into (from its churn.yaml). */
  registryFor?: (storage: Storage) => Promise<ModelRegistryMirror | null>;
  /** null or absent: nothing to roll (the server polls the pointer). */
  roller?: ModelServerRoller | null;
  logger: Logger;
}

export type ModelOutcome =
  | { action: "bundle"; version: string; done: string[] }
  | { action: "champion"; version: string; done: string[] }
  | { action: "ignored"; object: string; reason: string }
  | { action: "malformed"; reason: string };

/** Which model object an event names, decided from the name alone. */
export function classifyModelObject(
  name: string,
): { kind: "bundle"; version: string } | { kind: "champion" } | { kind: "other" } {
  if (name === CHAMPION_OBJECT) return { kind: "champion" };
  const version = versionOfBundleObject(name);
  return version ? { kind: "bundle", version } : { kind: "other" };
}

/**
 * onModelPublished: a new `models/<version>/bundle.json` is validated (it must
 * hash to its version) and mirrored into the registry; a change of
 * `models/champion` moves the registry alias and rolls the model server. It
 * acts whoever wrote the object (the churn-writer rule is the weekly
 * trigger's). A bad bundle is logged and acknowledged: redelivery cannot fix it.
 */
export async function handleModelPublished(
  event: CloudEventLike,
  deps: ModelPublishedDeps,
): Promise<ModelOutcome> {
  const log = deps.logger.child({ function: "onModelPublished", event_id: event.id });
  const parsed = parseStorageEvent(event);
  if (!parsed.ok) {
    log.warn(`malformed event acknowledged: ${parsed.reason}`);
    return { action: "malformed", reason: parsed.reason };
  }
  const { bucket, name } = parsed.data;
  const kind = classifyModelObject(name);
  if (kind.kind === "other") {
    log.debug(`ignored ${name}: not a bundle.json or ${CHAMPION_OBJECT}`, { object: name });
    return {
      action: "ignored",
      object: name,
      reason: `not ${bundleObject("<version>")} or ${CHAMPION_OBJECT}`,
    };
  }
  const storage = await deps.openBucket(bucket);
  if (!storage) {
    const reason = `bucket ${bucket} is not served by this deployment`;
    log.warn(`ignored ${name}: ${reason}`, { object: name });
    return { action: "ignored", object: name, reason };
  }
  try {
    const registry = deps.registry ?? (deps.registryFor ? await deps.registryFor(storage) : null);
    if (kind.kind === "bundle") {
      const stored = await readBundle(storage, kind.version);
      const done = registry ? [await registry.registerBundle(storage, stored)] : [];
      log.info(`bundle ${kind.version} is valid${done.length ? `; ${done.join("; ")}` : ""}`);
      return { action: "bundle", version: kind.version, done };
    }
    // Read the pointer rather than trusting the event: a late redelivery of an
    // older generation then converges on the current champion.
    const current = await readChampion(storage);
    if (!current) {
      log.info(`${CHAMPION_OBJECT} is gone; nothing to roll`, { object: name });
      return { action: "ignored", object: name, reason: `${CHAMPION_OBJECT} no longer exists` };
    }
    const { version } = current.pointer;
    // Pointer first, then the mirror, then the server (DESIGN order).
    const done: string[] = [];
    if (registry) done.push(await registry.setChampion(version));
    if (deps.roller) done.push(await deps.roller.roll(version));
    log.info(`champion is ${version}${done.length ? `; ${done.join("; ")}` : ""}`);
    return { action: "champion", version, done };
  } catch (error) {
    if (error instanceof ChurnError && error.exitCode === 2) {
      log.error(`acknowledged without retry: ${error.message}`, { object: name });
      return { action: "ignored", object: name, reason: error.message };
    }
    throw error;
  }
}
