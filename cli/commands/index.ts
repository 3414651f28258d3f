import type { Command } from "commander";
import type { Action } from "../main.js";
import { registerComponent } from "./component.js";
import { registerConfig } from "./config.js";
import { registerForget } from "./forget.js";
import { registerInit } from "./init.js";
import { registerModels } from "./models.js";
import { registerPipeline } from "./pipeline.js";
import { registerRuns } from "./runs.js";
import { registerScore } from "./score.js";
import { registerServe } from "./serve.js";
import { registerTrain } from "./train.js";
import { registerUi } from "./ui.js";
import { registerValidate } from "./validate.js";
import { registerWatch } from "./watch.js";

/** Wraps an action so its errors and exit code are handled in one place. */
export type Wrap = <O>(action: Action<O>) => (...args: unknown[]) => Promise<void>;

/** Every sub-command, one file each. */
export function registerCommands(program: Command, wrap: Wrap): void {
  registerConfig(program, wrap);
  registerComponent(program, wrap);
  registerValidate(program, wrap);
  registerInit(program, wrap);
  registerModels(program, wrap);
  registerPipeline(program, wrap);
  registerRuns(program, wrap);
  registerServe(program, wrap);
  registerWatch(program, wrap);
  registerTrain(program, wrap);
  registerScore(program, wrap);
  registerUi(program, wrap);
  registerForget(program, wrap);
}
