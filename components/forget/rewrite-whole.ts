import { messageOf } from "../common/errors.js";
import { CACHE_PREFIX } from "../common/layout/index.js";
import type { ObjectInfo } from "../common/storage/types.js";
import { forgetArrow } from "./arrow.js";
import type { ForgetContext, Phase } from "./context.js";
import { forgetCsv } from "./csv.js";
import { holdsIds } from "./holds.js";
import { formatLike, jsonHoldsIds, parseJson, scrubJson } from "./json.js";
import { checkOnly, type ObjectKind, ruleFor } from "./kinds.js";
import { publishWhole, rewriteOf } from "./publish.js";

/**
 * Objects read whole (JSON documents, logs, small Arrow files, CSV that
 * could not be streamed, models): one function per kind, each deciding
 * whether the object holds the customers and writing it back without them.
 */

/** One object as read: its bytes (gunzipped) and what they hold. */
export interface WholeObject {
  info: ObjectInfo;
  kind: ObjectKind;
  bytes: Buffer;
}

const MODEL_REASON =
  "a model object mentions a forgotten id; models are content-addressed and cannot be rewritten: retrain and delete this version";

/** Models are only checked: one that holds an id is reported, never rewritten. */
async function checkModel(ctx: ForgetContext, object: WholeObject): Promise<void> {
  if (await holdsIds(object.info.name, object.bytes, ctx.ids, ctx.idRule))
    ctx.ledger.noteUnhandled(object.info.name, MODEL_REASON);
}

/** An Arrow file read whole; one forget cannot read is reported when its bytes mention an id. */
async function rewriteArrow(ctx: ForgetContext, object: WholeObject): Promise<void> {
  const { ids, ledger } = ctx;
  const { info, bytes } = object;
  let result: Awaited<ReturnType<typeof forgetArrow>>;
  try {
    result = await forgetArrow(bytes, ids, (id) => ledger.found.add(id));
  } catch (error) {
    if (ids.mentioned(bytes.toString("latin1")))
      ledger.noteUnhandled(info.name, `an Arrow file forget cannot read: ${messageOf(error)}`);
    return;
  }
  if (result.bytes)
    await publishWhole(ctx, info, result.bytes, rewriteOf(info, "arrow", result.rowsRemoved, 0));
}

/** A CSV object read whole: only the id column decides (an age of 45 is not customer 45). */
async function rewriteCsv(ctx: ForgetContext, object: WholeObject, text: string): Promise<void> {
  const { info } = object;
  if (!ctx.ids.mentioned(text)) return;
  const result = forgetCsv(text, ctx.ids, ruleFor(info.name, ctx.idRule));
  if (result.text === null) return;
  ctx.ledger.noteMentions(text);
  const change = rewriteOf(info, "csv", result.rowsRemoved, 0);
  await publishWhole(ctx, info, Buffer.from(result.text, "latin1"), change);
}

/** A cached step result computed from the customers' rows: dropped, the next run recomputes it. */
async function deleteCacheEntry(ctx: ForgetContext, info: ObjectInfo): Promise<void> {
  if (!ctx.ledger.dryRun) await ctx.storage.delete(info.name, { allVersions: true });
  ctx.ledger.noteDeletedCacheEntry({ ...rewriteOf(info, "json", 0, 0), action: "deleted" });
}

/**
 * A JSON document that holds the customers or points at an object rewritten
 * now: scrubbed and written back in its own layout. False when it is not
 * valid JSON after all (then it is treated as text).
 */
async function rewriteJson(ctx: ForgetContext, object: WholeObject, text: string): Promise<boolean> {
  const { ids, ledger } = ctx;
  const { info } = object;
  const utf8 = object.bytes.toString("utf8");
  const holds = jsonHoldsIds(utf8, ids);
  if (!holds && !ledger.pointsAtTouched(text)) return true;
  if (holds) ledger.noteMentions(text);
  if (info.name.startsWith(CACHE_PREFIX)) {
    await deleteCacheEntry(ctx, info);
    return true;
  }
  const parsed = parseJson(utf8);
  if (parsed === undefined) return false;
  const result = scrubJson(parsed, ids, ledger.refs);
  if (result.elementsRemoved + result.redacted + result.refsUpdated === 0) return true;
  const change = rewriteOf(info, "json", result.elementsRemoved, result.redacted);
  await publishWhole(ctx, info, Buffer.from(formatLike(utf8, result.value), "utf8"), change);
  return true;
}

/** Any other text: every mention replaced by "[forgotten]". */
async function redactText(
  ctx: ForgetContext,
  info: ObjectInfo,
  kind: ObjectKind,
  text: string,
): Promise<void> {
  if (!ctx.ids.mentioned(text)) return;
  ctx.ledger.noteMentions(text);
  const redacted = ctx.ids.redact(text);
  const change = rewriteOf(info, kind === "json" ? "text" : kind, 0, redacted.count);
  await publishWhole(ctx, info, Buffer.from(redacted.text, "latin1"), change);
}

/** Forget the customers in one object read whole; JSON only in the JSON phase, everything else in the data phase. */
export async function rewriteWhole(ctx: ForgetContext, object: WholeObject, phase: Phase): Promise<void> {
  const { info, kind, bytes } = object;
  if ((kind === "json") !== (phase === "json")) return;
  if (checkOnly(info.name)) return checkModel(ctx, object);
  if (kind === "arrow") return rewriteArrow(ctx, object);
  const text = bytes.toString("latin1");
  if (kind === "binary") {
    if (ctx.ids.mentioned(text))
      ctx.ledger.noteUnhandled(info.name, "binary content of an unknown format mentions a forgotten id");
    return;
  }
  if (kind === "csv") return rewriteCsv(ctx, object, text);
  if (kind === "json" && (await rewriteJson(ctx, object, text))) return;
  return redactText(ctx, info, kind, text);
}
