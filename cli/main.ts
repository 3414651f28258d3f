import { Writable } from "node:stream";
import { Command, CommanderError } from "commander";
import {
  describeEnvironment,
  ENVIRONMENT,
  type EnvironmentName,
  envValue,
} from "../components/common/environment.js";
import { ChurnError, type ExitCode, exitCodeOf, messageOf, UsageError } from "../components/common/errors.js";
import { packageVersion } from "../components/common/version.js";
import { registerCommands } from "./commands/index.js";
import { showNumericDefaultsAsNumbers } from "./help-defaults.js";
import { type CliIO, type CommandContext, commandContext, jsonDocument } from "./io.js";

/** The package's version (one rule: cli/version.ts). */
export const VERSION = packageVersion();

/** DESIGN's exit codes, as `--help` lists them. */
const EXIT_CODES = [
  "  0    ok",
  "  1    unexpected or transient failure (a retry may help)",
  "  2    bad input, config or usage (retrying cannot help)",
  "  3    no model to score with (the gate refused every candidate, or no champion yet)",
  "  130  interrupted (Ctrl-C): the run is recorded interrupted; the same command resumes it",
].join("\n");

/** A command action: gets parsed options and the context; may resolve with an exit code (default 0). */
export type Action<O> = (options: O, ctx: CommandContext, args: string[]) => Promise<unknown>;

/**
 * The program: global flags, one sub-command per file under cli/commands,
 * and the single place where errors become exit codes and messages.
 */
export async function buildProgram(
  io: CliIO,
  onExit: (code: ExitCode) => void,
  argv: readonly string[] = [],
): Promise<Command> {
  const program = new Command("churn")
    .description("Weekly churn scoring: ingest, train, score and publish, on a local folder or a GCS bucket.")
    .option("--json", "print one machine-readable JSON document")
    .option("-V, --version", 'print the version (with --json: {"version": ...})')
    .addHelpText(
      "after",
      `\nExit codes:\n${EXIT_CODES}\n\nEnvironment variables:\n${describeEnvironment()}\n`,
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  await registerCommands(program, (action) => wrap(program, io, action, onExit), argv);
  showNumericDefaultsAsNumbers(program);
  return program;
}

function wrap<O>(
  program: Command,
  io: CliIO,
  action: Action<O>,
  onExit: (code: ExitCode) => void,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    // Commander passes (positional..., options, command).
    const command = args[args.length - 1] as Command;
    const options = command.opts() as O;
    const positionals = args
      .slice(0, -2)
      .flat()
      .filter((a): a is string => typeof a === "string");
    const json = Boolean(program.opts().json || (options as { json?: boolean }).json);
    const ctx = commandContext(io, json);
    try {
      const result = await action(options, ctx, positionals);
      onExit(typeof result === "number" ? (result as ExitCode) : 0);
    } catch (error) {
      onExit(reportError(error, ctx));
    }
  };
}

/** Print an error once: one sentence for expected errors, a stack only for bugs. */
export function reportError(
  error: unknown,
  ctx: Pick<CommandContext, "json" | "stdout" | "stderr" | "env">,
): ExitCode {
  const code = exitCodeOf(error);
  if (ctx.json) {
    const details = error instanceof ChurnError ? error.details : undefined;
    ctx.stdout.write(
      `${jsonDocument({ ok: false, exit_code: code, error: { type: (error as Error)?.name ?? "Error", message: messageOf(error), details } }, 2)}\n`,
    );
  }
  if (error instanceof ChurnError) {
    ctx.stderr.write(`churn: ${error.message}\n`);
  } else {
    ctx.stderr.write(`churn: unexpected failure: ${messageOf(error)}\n`);
    if (debugging(ctx.env)) ctx.stderr.write(`${(error as Error)?.stack ?? ""}\n`);
    else ctx.stderr.write("(set CHURN_DEBUG=1 for the stack trace)\n");
  }
  return code;
}

/** CHURN_DEBUG, read where a broken value must not hide the error being reported. */
function debugging(env: NodeJS.ProcessEnv): boolean {
  try {
    return envValue(env, "CHURN_DEBUG") ?? false;
  } catch {
    return false;
  }
}

/**
 * Check every variable of the environment table at once, before any work:
 * a typo in CHURN_LEASE_TTL_MS fails with its name instead of being ignored.
 */
export function checkEnvironment(env: NodeJS.ProcessEnv): void {
  const problems: string[] = [];
  for (const name of Object.keys(ENVIRONMENT) as EnvironmentName[]) {
    try {
      envValue(env, name);
    } catch (error) {
      problems.push(messageOf(error));
    }
  }
  if (problems.length > 0) throw new UsageError(problems.join("; "));
}

/** Run the CLI with argv (without node and script); resolves with the exit code. */
export async function main(argv: string[], io: CliIO): Promise<ExitCode> {
  const json = argv.includes("--json");
  if (argv[0] === "--version" || argv[0] === "-V") {
    io.stdout.write(json ? `${JSON.stringify({ version: VERSION })}\n` : `churn ${VERSION}\n`);
    return 0;
  }
  try {
    checkEnvironment(io.env);
  } catch (error) {
    return reportError(error, { json, ...io });
  }
  let exitCode: ExitCode = 0;
  const program = await buildProgram(
    io,
    (code) => {
      exitCode = code;
    },
    argv,
  );
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version exit 0; every other commander error is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error, { json: argv.includes("--json"), ...io });
  }
  return exitCode;
}

/**
 * Run the CLI in this process with captured output: what tests and benchmarks
 * use to drive the real commands without spawning a process.
 */
export async function runInProcess(
  argv: string[],
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = { ...process.env, CHURN_BUCKET: "" },
): Promise<{ code: ExitCode; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) =>
    new Writable({
      write(chunk, _encoding, callback) {
        append(String(chunk));
        callback();
      },
    });
  const code = await main(argv, {
    stdout: sink((s) => {
      stdout += s;
    }),
    stderr: sink((s) => {
      stderr += s;
    }),
    env,
    cwd,
  });
  return { code, stdout, stderr };
}
