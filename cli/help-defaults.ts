import type { Command } from "commander";

/** A default that is a number written as text: "10", "0.5". */
const NUMBER = /^-?\d+(?:\.\d+)?$/;

/**
 * Show numeric defaults in `--help` as numbers, `(default: 10)` rather than
 * commander's `(default: "10")`. The defaults stay text: every option's value
 * is parsed (and checked) from text, given or defaulted, by one parser.
 */
export function showNumericDefaultsAsNumbers(command: Command): void {
  for (const option of command.options) {
    const value: unknown = option.defaultValue;
    if (typeof value === "string" && NUMBER.test(value) && option.defaultValueDescription === undefined)
      option.defaultValueDescription = value;
  }
  for (const sub of command.commands) showNumericDefaultsAsNumbers(sub);
}
