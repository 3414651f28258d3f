/**
 * The bucket layout (DESIGN "Bucket layout"): every object name and naming
 * rule, in one module, so the function, `churn watch`, the runner, the CLI
 * and the console build and recognise names the same way.
 */
export * from "./models.js";
export * from "./names.js";
export * from "./output.js";
export * from "./runs.js";
export * from "./stem.js";
export * from "./trigger.js";
export * from "./writer.js";
