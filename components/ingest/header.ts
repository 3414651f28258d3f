import { InputError } from "../common/errors.js";
import type { IngestOptions } from "./types.js";

/** Check the header: names unique, required columns present. Returns the header (empty names filled). */
export function checkHeader(header: string[], options: IngestOptions, delimiter: string): string[] {
  const { source, config } = options;
  const names = header.map((name, i) => (name.trim() === "" ? `column_${i + 1}` : name));
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const before = seen.get(name);
    if (before !== undefined) {
      throw new InputError(
        `${source}, line 1: the header names "${name}" twice (columns ${before + 1} and ${i + 1}); column names must be unique`,
      );
    }
    seen.set(name, i);
  });
  const listed = names.length > 8 ? `${names.slice(0, 8).join(", ")}, ...` : names.join(", ");
  const hint =
    names.length === 1 ? ` (the whole header is one column: is the delimiter "${delimiter}" right?)` : "";
  if (options.schema) {
    const required = options.schema.columns.filter(
      (c) => !(c.role === "id" && options.schema!.generatedId) && c.role !== "label",
    );
    const absent = required.filter((c) => !seen.has(c.name)).map((c) => `"${c.name}"`);
    if (absent.length > 0) {
      throw new InputError(
        `${source}, line 1: the header lacks ${absent.length} column${absent.length === 1 ? "" : "s"} of the recorded training schema: ${absent.join(", ")}${hint}`,
      );
    }
    if (options.mode === "training" && options.schema.label && !seen.has(options.schema.label.column)) {
      throw new InputError(
        `${source}, line 1: no label column "${options.schema.label.column}" (columns: ${listed})`,
      );
    }
    return names;
  }
  if (!config.generate_id && config.id_column && !seen.has(config.id_column)) {
    throw new InputError(
      `${source}, line 1: no id column "${config.id_column}" in the header (columns: ${listed})${hint}; set id_column, or generate_id: true for files without one`,
    );
  }
  if (options.mode === "training") {
    if (!config.label) {
      throw new InputError(`${source}: training needs a label: set label: {column, positive} in churn.yaml`);
    }
    if (!seen.has(config.label.column)) {
      throw new InputError(
        `${source}, line 1: no label column "${config.label.column}" in the header (columns: ${listed})${hint}`,
      );
    }
  }
  return names;
}
