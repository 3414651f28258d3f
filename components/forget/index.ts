export { forgetArrow, looksLikeArrow } from "./arrow.js";
export { type CsvIdRule, forgetCsv } from "./csv.js";
export {
  FORGET_PREFIX,
  type ForgetOptions,
  type ForgetRecord,
  forgetCustomers,
  kindOf,
  type ObjectChange,
  recordObject,
} from "./forget.js";
export { ForgetIds, idHasher } from "./ids.js";
export { scrubJson } from "./json.js";
