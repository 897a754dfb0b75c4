import type { PgKind } from "./kind-types.js";

/** pgvector's advice for IVFFlat lists: rows / 1000 up to 1M rows, √rows above, at least 1. */
export function pgvectorLists(n: number): number {
  return Math.max(1, Math.round(n <= 1_000_000 ? n / 1000 : Math.sqrt(n)));
}

/**
 * pgvector's HNSW on a Postgres collection (`USING hnsw ... vector_ip_ops`, one partial index per
 * modality): build option `m` (default 16, pgvector's), ef_construction 64; search parameter `ef`
 * as `hnsw.ef_search` (default 64, at least k). Ranked first under "auto".
 */
export const pgvectorHnsw: PgKind = {
  id: "pgvector-hnsw",
  name: "hnsw",
  store: "postgres",
  pgType: "hnsw",
  countsScanned: false,
  autoRank: 1,
  describe: "pgvector HNSW inside Postgres; m 16 by default, search breadth hnsw.ef_search",
  param: { key: "ef", default: 64, setting: "hnsw.ef_search", help: "HNSW search breadth (hnsw.ef_search); higher is slower and more exact", tune: [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 1000] },
  async build(store, opts, modality) {
    await store.buildVectorIndex("hnsw", modality, { m: opts.m });
  },
};

/**
 * pgvector's IVFFlat on a Postgres collection: build option `nlist` as its lists, default
 * `pgvectorLists` (fewer than clipdb's own IVF, since an IVFFlat build holds every list's sample in
 * maintenance_work_mem: 1,265 lists over 100k × 512 did not fit PGlite's memory; 316 built in
 * 14 s); search parameter `nprobe` as `ivfflat.probes` (default 16). `spill`, `route` and
 * `trainOn` do not apply (pgvector trains on the rows present).
 */
export const pgvectorIvfflat: PgKind = {
  id: "pgvector-ivfflat",
  name: "ivf",
  store: "postgres",
  pgType: "ivf",
  countsScanned: false,
  autoRank: 2,
  describe: "pgvector IVFFlat inside Postgres; rows/1000 lists by default, lists probed ivfflat.probes",
  param: { key: "nprobe", default: 16, setting: "ivfflat.probes", help: "IVFFlat lists probed (ivfflat.probes); higher is slower and more exact", tune: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096] },
  async build(store, opts, modality, n) {
    await store.buildVectorIndex("ivf", modality, { lists: opts.nlist ?? pgvectorLists(n) });
  },
};
