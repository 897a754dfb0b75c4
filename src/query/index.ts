export * from "./plan.js";
export * from "./input.js";
