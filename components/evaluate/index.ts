/** The evaluate component's library: metrics, the report object and the promotion gate. */

export * from "../common/data/metrics.js";
export * from "./gate.js";
export * from "./report.js";
