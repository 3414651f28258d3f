import { parseConfigText } from "../config/load.js";
import type { ChurnConfig } from "../config/schema.js";
import { InputError } from "../errors.js";
import type { ComponentContext, ObjectRef } from "./spec.js";

/** Reads a whole input object as UTF-8 text (its content hash is checked as it is read). */
export async function readInputText<P>(ctx: ComponentContext<P>, ref: ObjectRef): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.openInput(ref)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString("utf8");
}

/** Reads a whole input object as JSON; invalid JSON is an InputError naming the object. */
export async function readInputJson<P>(ctx: ComponentContext<P>, ref: ObjectRef): Promise<unknown> {
  const text = await readInputText(ctx, ref);
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`${ref.object} is not valid JSON`);
  }
}

/** Reads and validates churn.yaml from the step's `config` input. */
export async function readConfigInput<P>(ctx: ComponentContext<P>): Promise<ChurnConfig> {
  const ref = ctx.inputs.config![0]!;
  return parseConfigText(await readInputText(ctx, ref), ref.object);
}
