export * from "./bundle.js";
export * from "./champion.js";
