export { forgetArrow, looksLikeArrow } from "./arrow.js";
export { type CsvIdRule, forgetCsv } from "./csv.js";
export { type ForgetOptions, forgetCustomers } from "./forget.js";
export { ForgetIds, idHasher } from "./ids.js";
export { scrubJson } from "./json.js";
export { FORGET_PREFIX, kindOf } from "./kinds.js";
export { type ForgetRecord, type ObjectChange, recordObject } from "./record.js";
