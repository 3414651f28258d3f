import type { Storage } from "../common/storage/types.js";
import type { CsvIdRule } from "./csv.js";
import type { ForgetIds } from "./ids.js";
import type { ForgetLedger } from "./ledger.js";

/** What every part of one forget works with: the bucket, the ids, the id rule, and the ledger it adds to. */
export interface ForgetContext {
  storage: Storage;
  ids: ForgetIds;
  /** Which CSV columns hold customer ids (labels/ files fall back to their first column). */
  idRule: CsvIdRule;
  ledger: ForgetLedger;
}

/** The two passes over the bucket: data (CSV, Arrow, text) first, then JSON, which may point at rewritten data. */
export type Phase = "data" | "json";
