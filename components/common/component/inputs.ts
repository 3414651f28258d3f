import { type Bundle, bundleSchema } from "../bundle/bundle.js";
import { parseConfigText } from "../config/load.js";
import type { ChurnConfig } from "../config/schema.js";
import { type DecisionDocument, decisionDocumentSchema } from "../documents/decision.js";
import { parseDocument } from "../documents/parse.js";
import { InputError } from "../errors.js";
import { CONFIG_PORT } from "./reads.js";
import type { ComponentContext, ConfigSection, ObjectRef } from "./spec.js";

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

/**
 * Reads and validates churn.yaml from the step's `config` input, typed to the
 * sections the component declared it reads (its cache key counts only those).
 */
export async function readConfigInput<P, R extends ConfigSection>(
  ctx: ComponentContext<P, R>,
): Promise<Pick<ChurnConfig, R>> {
  const ref = ctx.inputs[CONFIG_PORT]?.[0];
  if (!ref) throw new InputError(`step ${ctx.step} has no ${CONFIG_PORT} input (churn.yaml)`);
  return parseConfigText(await readInputText(ctx, ref), ref.object);
}

/** Reads and validates a model bundle from an input object (the candidate or the champion). */
export async function readBundleInput<P>(ctx: ComponentContext<P>, ref: ObjectRef): Promise<Bundle> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readInputText(ctx, ref));
  } catch (error) {
    throw new InputError(`${ref.object} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = bundleSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`${ref.object} is not a valid bundle: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}

/** Reads and validates the evaluate step's decision.json from an input object. */
export async function readDecisionInput<P>(
  ctx: ComponentContext<P>,
  ref: ObjectRef,
): Promise<DecisionDocument> {
  return parseDocument(decisionDocumentSchema, await readInputText(ctx, ref), ref.object);
}
