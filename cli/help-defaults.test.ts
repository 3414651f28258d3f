import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { showNumericDefaultsAsNumbers } from "./help-defaults.js";

/** A program with a numeric, a decimal, a text and a described default, one level down. */
function program(): Command {
  const root = new Command("churn");
  root
    .command("runs")
    .command("list")
    .option("--limit <n>", "at most this many runs", "20")
    .option("--share <x>", "a share", "0.5")
    .option("--host <address>", "address to listen on", "127.0.0.1")
    .option("--bucket <uri>", "bucket URI (default: $CHURN_BUCKET)");
  return root;
}

const helpOf = (root: Command) => root.commands[0]!.commands[0]!.helpInformation().replace(/\s+/g, " ");

describe("showNumericDefaultsAsNumbers", () => {
  it("shows number defaults as numbers in every subcommand's help, text defaults quoted", () => {
    const before = program();
    expect(helpOf(before)).toContain('(default: "20")');
    const after = program();
    showNumericDefaultsAsNumbers(after);
    const help = helpOf(after);
    expect(help).toContain("(default: 20)");
    expect(help).toContain("(default: 0.5)");
    expect(help).toContain('(default: "127.0.0.1")');
    expect(help).not.toContain('(default: "20")');
  });

  it("keeps the default values as text, so one parser reads given and defaulted values alike", () => {
    const root = program();
    showNumericDefaultsAsNumbers(root);
    const list = root.commands[0]!.commands[0]!;
    list.parse([], { from: "user" });
    expect(list.opts()).toMatchObject({ limit: "20", share: "0.5", host: "127.0.0.1" });
  });
});
