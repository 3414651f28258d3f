import { PassThrough } from "node:stream";
import type { Command } from "commander";
import { UsageError } from "../../components/common/errors.js";
import type { Wrap } from "./index.js";

/**
 * `churn completion bash|zsh|fish`: a shell completion script generated from
 * the command tree itself (every command, sub-command and flag as `--help`
 * shows them), so it can never list a command that does not exist.
 */
const SHELLS = ["bash", "zsh", "fish"] as const;
type Shell = (typeof SHELLS)[number];

/** One command path (e.g. ["models", "promote"]) with its sub-commands and flags. */
interface Node {
  path: string[];
  description: string;
  children: string[];
  flags: string[];
}

/** Every command of the tree, depth first, the root included (path []). */
export function commandNodes(root: Command): Node[] {
  const nodes: Node[] = [];
  const visit = (command: Command, path: string[]) => {
    nodes.push({
      path,
      description: command.description(),
      children: command.commands.map((c) => c.name()),
      flags: command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))),
    });
    for (const child of command.commands) visit(child, [...path, child.name()]);
  };
  visit(root, []);
  return nodes;
}

/** Words a shell may complete after `churn <path...>`: sub-commands first, then flags (and --help). */
function wordsOf(node: Node): string {
  return [...node.children, ...node.flags, "--help"].join(" ");
}

function bash(nodes: Node[]): string {
  const cases = nodes.map((n) => `    "${n.path.join(" ")}") words="${wordsOf(n)}" ;;`).join("\n");
  return `# churn completion for bash: source it, or put it in /etc/bash_completion.d/churn
_churn() {
  local path="" word i words=""
  # The command path: the words before the cursor that are not flags.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    [[ "$word" == -* ]] && continue
    local next="\${path:+$path }$word"
    case "$next" in
${nodes
  .filter((n) => n.path.length > 0)
  .map((n) => `      "${n.path.join(" ")}") path="$next" ;;`)
  .join("\n")}
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=($(compgen -W "$words" -- "\${COMP_WORDS[COMP_CWORD]}"))
}
complete -o default -F _churn churn
`;
}

function zsh(nodes: Node[]): string {
  return `#compdef churn
# churn completion for zsh: put it on $fpath as _churn, or source it after compinit.
autoload -U +X bashcompinit && bashcompinit
${bash(nodes).replace(/^# churn completion for bash.*\n/, "")}`;
}

function fish(nodes: Node[]): string {
  const quote = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const lines = [
    "# churn completion for fish: save as ~/.config/fish/completions/churn.fish",
    "complete -c churn -f",
  ];
  for (const node of nodes) {
    // A node's words apply when its whole path has been typed and none of its children yet.
    const seen = node.path.map((p) => `__fish_seen_subcommand_from ${p}`);
    const notDeeper =
      node.children.length > 0 ? [`not __fish_seen_subcommand_from ${node.children.join(" ")}`] : [];
    const condition =
      node.path.length === 0 ? "__fish_use_subcommand" : [...seen, ...notDeeper].join("; and ");
    for (const child of nodes.filter(
      (n) => n.path.length === node.path.length + 1 && n.path.slice(0, -1).join(" ") === node.path.join(" "),
    ))
      lines.push(
        `complete -c churn -n ${quote(condition)} -a ${child.path.at(-1)} -d ${quote(child.description.slice(0, 80))}`,
      );
    for (const flag of node.flags.filter((f) => f.startsWith("--")))
      lines.push(
        `complete -c churn -n ${quote(node.path.length === 0 ? "true" : seen.join("; and "))} -l ${flag.slice(2)}`,
      );
  }
  return `${lines.join("\n")}\n`;
}

const GENERATORS: Record<Shell, (nodes: Node[]) => string> = { bash, zsh, fish };

export function registerCompletion(program: Command, wrap: Wrap): void {
  program
    .command("completion <shell>")
    .description(`print a shell completion script (${SHELLS.join(", ")})`)
    .addHelpText(
      "after",
      "\nExamples:\n  source <(churn completion bash)\n  churn completion zsh > ~/.zfunc/_churn\n  churn completion fish > ~/.config/fish/completions/churn.fish\n",
    )
    .action(
      wrap(async (_options, ctx, [shell]) => {
        if (!(SHELLS as readonly string[]).includes(shell!))
          throw new UsageError(`unknown shell "${shell}": choose ${SHELLS.join(", ")}`);
        // The whole tree: the running program registered only this command (see registerCommands).
        const { buildProgram } = await import("../main.js");
        const quiet = new PassThrough();
        const full = await buildProgram(
          { stdout: quiet, stderr: quiet, env: ctx.env, cwd: ctx.cwd },
          () => {},
        );
        ctx.stdout.write(GENERATORS[shell as Shell](commandNodes(full)));
      }),
    );
}
