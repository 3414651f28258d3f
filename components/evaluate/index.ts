/** The evaluate component's library: metrics, the report object and the promotion gate. */
export * from "./gate.js";
export * from "./metrics.js";
export * from "./report.js";
