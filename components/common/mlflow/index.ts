export * from "./client.js";
export * from "./mirror.js";
export * from "./sync.js";
