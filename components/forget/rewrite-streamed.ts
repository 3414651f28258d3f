import type { ObjectInfo } from "../common/storage/types.js";
import type { ForgetContext } from "./context.js";
import { ruleFor, streamKind } from "./kinds.js";
import { publishStreamed } from "./publish.js";
import { type ArrowScan, countArrow, countCsv, keptArrow, keptCsv } from "./stream.js";

/**
 * The big objects, CSV files and Arrow intermediates, streamed: a counting
 * pass first, and a second, writing pass only when rows of the customers
 * were found. Memory stays at about one chunk or one record batch.
 */

/** Rewrite a CSV object without the customers' rows. */
async function rewriteCsvStreamed(ctx: ForgetContext, info: ObjectInfo): Promise<void> {
  const { storage, ids, ledger } = ctx;
  const rule = ruleFor(info.name, ctx.idRule);
  const count = await countCsv(storage.createReadStream(info.name), ids, rule);
  if (count.rowsRemoved === 0) return;
  ledger.noteFound(count.found);
  await publishStreamed(ctx, info, "csv", count.rowsRemoved, (result) =>
    keptCsv(storage.createReadStream(info.name), ids, rule, result),
  );
}

/** Rewrite an ingest Arrow intermediate without the customers' rows; false when it is no such intermediate. */
async function rewriteArrowStreamed(ctx: ForgetContext, info: ObjectInfo): Promise<boolean> {
  const { storage, ids, ledger } = ctx;
  let scan: ArrowScan;
  try {
    scan = await countArrow(storage.createReadStream(info.name), ids);
  } catch {
    return false; // not an ingest intermediate: the whole-object path reports it
  }
  const { dataset, withLabel } = scan;
  if (scan.rowsRemoved === 0 || !dataset) return true;
  ledger.noteFound(scan.found);
  await publishStreamed(ctx, info, "arrow", scan.rowsRemoved, () =>
    keptArrow(storage.createReadStream(info.name), ids, dataset, withLabel),
  );
  return true;
}

/** CSV and Arrow objects, streamed; false when the object is not one forget can stream. */
export async function rewriteStreamed(ctx: ForgetContext, info: ObjectInfo): Promise<boolean> {
  const kind = streamKind(info.name);
  if (kind === "csv") {
    await rewriteCsvStreamed(ctx, info);
    return true;
  }
  if (kind === "arrow") return rewriteArrowStreamed(ctx, info);
  return false;
}
