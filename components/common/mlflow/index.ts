export * from "./client.js";
export * from "./mirror.js";
