export * from "./bundle.js";
export * from "./champion.js";
export * from "./trained-ids.js";
