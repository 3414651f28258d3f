import type { Command } from "commander";
import type { Action } from "../main.js";

/** Wraps an action so its errors and exit code are handled in one place. */
export type Wrap = <O>(action: Action<O>) => (...args: unknown[]) => Promise<void>;

/**
 * The long commands (runs, servers, watch, forget): on a stderr that is not a
 * terminal every line they write there is one JSON event (cli/event-lines.ts),
 * their errors too; the others keep `churn: ...` lines.
 */
const LONG_COMMANDS: ReadonlySet<string> = new Set([
  "pipeline run",
  "pipeline step",
  "score",
  "train",
  "serve",
  "ui",
  "watch",
  "forget",
]);

/** True when the words name a long command (`["pipeline", "run", ...]`: the command's path, then anything). */
export function isLongCommand(words: readonly string[]): boolean {
  return [1, 2].some((n) => words.length >= n && LONG_COMMANDS.has(words.slice(0, n).join(" ")));
}

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
