import { HnswIndex } from "./hnsw.js";
import type { SpecKind } from "./kinds.js";

/** HNSW with graph degree `m` (default 32). */
export interface HnswSpec {
  type: "hnsw";
  m: number;
}

declare module "./kinds.js" {
  interface IndexSpecs {
    hnsw: HnswSpec;
  }
}

/** "HNSW<M>" ("HNSW" alone means M = 32; file magic CLIPHNSW in the trailer). */
export const hnswKind: SpecKind<HnswSpec> = {
  type: "hnsw",
  syntax: "'HNSW<M>' (e.g. HNSW32)",
  parse(s, bad) {
    const m = /^HNSW(\d*)$/.exec(s);
    if (!m) return undefined;
    const M = m[1] === "" ? 32 : Number(m[1]);
    if (M < 2) throw bad("M must be at least 2");
    return { type: "hnsw", m: M };
  },
  format: (spec) => `HNSW${spec.m}`,
  create: (s, dim) => new HnswIndex({ dim, m: s.m }),
  specOf: (index) => (index instanceof HnswIndex ? { type: "hnsw", m: index.m } : undefined),
  magic: { tail: "CLIPHNSW" },
  load: (path, opts) => HnswIndex.load(path, { view: opts.view }),
  check: (path) => HnswIndex.check(path),
};
