export * from "./plan.js";
export * from "./input.js";
export * from "./metrics.js";
export * from "./eval.js";
export * from "./tune.js";
export * from "./relevance.js";
export * from "./combine.js";
export * from "./prompts.js";
