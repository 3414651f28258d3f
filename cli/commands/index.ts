import type { Command } from "commander";
import type { Action } from "../main.js";

/** How a command's action is wrapped: `long` for commands that stream events on stderr (runs, servers, watch). */
export interface WrapOptions {
  long?: boolean;
}

/** Wraps an action so its errors and exit code are handled in one place. */
export type Wrap = <O>(action: Action<O>, options?: WrapOptions) => (...args: unknown[]) => Promise<void>;

/** The options of the commands that run pipelines, serve or watch: JSON event lines on a non-terminal stderr. */
export const LONG: WrapOptions = { long: true };

type Register = (program: Command, wrap: Wrap) => void;

/**
 * Every sub-command, one file each, in help order. Modules load on demand:
 * each local pipeline step starts this CLI, and importing every command's
 * domain code (the Kubernetes client, Fastify, ...) cost ~0.3 s a step.
 */
const COMMANDS: ReadonlyArray<readonly [string, () => Promise<Register>]> = [
  ["config", async () => (await import("./config.js")).registerConfig],
  ["component", async () => (await import("./component.js")).registerComponent],
  ["validate", async () => (await import("./validate.js")).registerValidate],
  ["init", async () => (await import("./init.js")).registerInit],
  ["models", async () => (await import("./models.js")).registerModels],
  ["pipeline", async () => (await import("./pipeline.js")).registerPipeline],
  ["runs", async () => (await import("./runs.js")).registerRuns],
  ["serve", async () => (await import("./serve.js")).registerServe],
  ["watch", async () => (await import("./watch.js")).registerWatch],
  ["train", async () => (await import("./train.js")).registerTrain],
  ["score", async () => (await import("./score.js")).registerScore],
  ["pull", async () => (await import("./pull.js")).registerPull],
  ["ui", async () => (await import("./ui.js")).registerUi],
  ["forget", async () => (await import("./forget.js")).registerForget],
  ["completion", async () => (await import("./completion.js")).registerCompletion],
];

/**
 * Registers the sub-command `argv` names (its first word that is not a flag),
 * or every sub-command when it names none (help, a typo, a global flag's value).
 */
export async function registerCommands(
  program: Command,
  wrap: Wrap,
  argv: readonly string[] = [],
): Promise<void> {
  const named = argv.find((a) => !a.startsWith("-"));
  const chosen = COMMANDS.filter(([name]) => name === named);
  const registers = await Promise.all((chosen.length > 0 ? chosen : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program, wrap);
}
