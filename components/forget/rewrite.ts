import { ConflictError } from "../common/errors.js";
import type { ObjectInfo } from "../common/storage/types.js";
import type { ForgetContext, Phase } from "./context.js";
import { checkOnly, isJsonName, kindOf, streamKind } from "./kinds.js";
import { rewriteStreamed } from "./rewrite-streamed.js";
import { rewriteWhole } from "./rewrite-whole.js";

/**
 * Forget the customers in one object, in the phase that reads it: CSV and
 * Arrow (streamed) with the data, `.json` with the JSON documents.
 */
async function forgetOnce(ctx: ForgetContext, info: ObjectInfo, phase: Phase): Promise<void> {
  if (phase === "json" && streamKind(info.name)) return;
  if (phase === "data" && isJsonName(info.name)) return;
  if (phase === "data" && !checkOnly(info.name) && (await rewriteStreamed(ctx, info))) return;
  const bytes = await ctx.storage.readBytes(info.name);
  await rewriteWhole(ctx, { info, bytes, kind: kindOf(info.name, bytes) }, phase);
}

/** One object, read again and retried once if a writer replaced it between our read and our write. */
export async function forgetInObject(ctx: ForgetContext, info: ObjectInfo, phase: Phase): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const current = attempt === 0 ? info : await ctx.storage.stat(info.name);
      if (!current) return;
      await forgetOnce(ctx, current, phase);
      return;
    } catch (error) {
      if (error instanceof ConflictError && attempt === 0) continue;
      throw error;
    }
  }
}
