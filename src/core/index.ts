export * from "./errors.js";
export * from "./vectors.js";
export * from "./topk.js";
export * from "./types.js";
export * from "./npy.js";
export * from "./testpoint.js";
export * from "./filter.js";
export * from "./cost.js";
