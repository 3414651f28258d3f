import { type CloudEvent, cloudEvent } from "@google-cloud/functions-framework";
import { ChurnError } from "../components/common/errors.js";
import type { Logger } from "../components/common/log.js";
import type { CloudEventLike } from "./events.js";
import { handleModelPublished, type ModelPublishedDeps } from "./on-model-published.js";
import { handleWeeklyUpload, type WeeklyUploadDeps } from "./on-weekly-upload.js";

/** Function names as deployed (Terraform `entry_point`) and as functions-framework `--target`. */
export const WEEKLY_FUNCTION = "onWeeklyUpload";
export const MODEL_FUNCTION = "onModelPublished";

type Lazy<T> = () => Promise<T>;

/**
 * One path for every failure: permanent problems (exit code 2: bad input,
 * usage, not found) are logged and acknowledged because redelivery cannot fix
 * them; anything else is rethrown so the platform redelivers the event.
 */
async function acknowledgePermanent<T>(
  logger: Logger,
  name: string,
  work: () => Promise<T>,
): Promise<T | null> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ChurnError && error.exitCode === 2) {
      logger.error(`${name}: acknowledged without retry: ${error.message}`);
      return null;
    }
    logger.error(`${name}: failed, the event will be redelivered: ${(error as Error).message}`);
    throw error;
  }
}

/**
 * Register both CloudEvent functions with functions-framework. Dependencies
 * are built lazily (on the first event) and once, so importing this module
 * reads nothing and tests can pass their own clients.
 */
export function registerFunctions(deps: {
  weekly: Lazy<WeeklyUploadDeps>;
  model: Lazy<ModelPublishedDeps>;
}): void {
  const once = <T>(make: Lazy<T>): Lazy<T> => {
    let made: Promise<T> | null = null;
    return () => {
      made ??= make().catch((error) => {
        made = null;
        throw error;
      });
      return made;
    };
  };
  const weekly = once(deps.weekly);
  const model = once(deps.model);
  cloudEvent(WEEKLY_FUNCTION, async (event: CloudEvent<unknown>) => {
    const d = await weekly();
    await acknowledgePermanent(d.logger, WEEKLY_FUNCTION, () =>
      handleWeeklyUpload(event as CloudEventLike, d),
    );
  });
  cloudEvent(MODEL_FUNCTION, async (event: CloudEvent<unknown>) => {
    const d = await model();
    await acknowledgePermanent(d.logger, MODEL_FUNCTION, () =>
      handleModelPublished(event as CloudEventLike, d),
    );
  });
}
