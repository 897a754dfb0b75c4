import { FlatIndex } from "./flat.js";
import type { SpecKind } from "./kinds.js";

/** Exact flat index. */
export interface FlatSpec {
  type: "flat";
}

declare module "./kinds.js" {
  interface IndexSpecs {
    flat: FlatSpec;
  }
}

/** "Flat": the exact index (file magic CLIPFLAT). */
export const flatKind: SpecKind<FlatSpec> = {
  type: "flat",
  syntax: "'Flat'",
  parse: (s) => (s === "FLAT" ? { type: "flat" } : undefined),
  format: () => "Flat",
  create: (_s, dim) => new FlatIndex(dim),
  specOf: (index) => (index instanceof FlatIndex ? { type: "flat" } : undefined),
  magic: { head: "CLIPFLAT" },
  load: (path) => FlatIndex.load(path),
  check: () => undefined,
};
