import { HnswIndex, formatSpec, type BaseIndex } from "../index/index.js";
import type { LocalKind } from "./kind-types.js";

/** Default HNSW degree of a build: 32. Higher is more exact, bigger and slower to build. */
export const DEFAULT_M = 32;

/**
 * clipdb's HNSW graph (usearch), saved as a file: build option `m` (default 32); search parameter
 * `ef` (default 64). Ranked first under "auto".
 */
export const hnswLocal: LocalKind = {
  id: "hnsw",
  name: "hnsw",
  store: "sqlite",
  countsScanned: false,
  autoRank: 1,
  describe: `HNSW graph in a clipdb file; M ${DEFAULT_M} by default, search breadth ef`,
  param: { key: "ef", default: 64, help: "HNSW search breadth; higher is slower and more exact", tune: [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1024] },
  async make(_store, opts, _modality, offsets, xs) {
    const dim = xs.length / offsets.length;
    const m = opts.m ?? DEFAULT_M;
    const idx = new HnswIndex({ dim, m }) as unknown as BaseIndex;
    idx.add(offsets, xs);
    return { idx, spec: formatSpec({ type: "hnsw", m }) };
  },
};
