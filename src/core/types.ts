import type { OffsetFilter } from "./filter.js";
import type { Hits } from "./topk.js";

/** What an item is. */
export type Modality = "image" | "text";

/** Options of one index search. */
export interface SearchOptions {
  /** IVF: lists probed per query; default 16 (capped at nlist); higher is slower and more exact. */
  nprobe?: number;
  /** HNSW: candidate list size per query; default 64 (at least k); higher is slower and more exact. */
  ef?: number;
  /**
   * Which offsets may come back (see OffsetFilter): a known list (a metadata filter's offsets), and
   * predicates (tombstones, the query item). Absent: every offset. When few pass, indexes fall back
   * to an exact scan over them, so exactly min(k, allowed) results come back.
   */
  filter?: OffsetFilter;
}

/**
 * A vector index over (offset, vector) pairs, metric inner product on L2-normalised float32.
 * Names follow Faiss: dim, k, nlist, nprobe, train, add, search, remove.
 */
export interface VectorIndex {
  readonly dim: number;
  readonly metric: "ip";
  readonly isTrained: boolean;
  /** Number of vectors held. */
  readonly size: number;
  /** Trains (IVF: k-means); a no-op for Flat and HNSW. `xs` is n * dim. */
  train(xs: Float32Array): void;
  /** Adds vectors under the given offsets; re-adding an offset replaces it. */
  add(offsets: Uint32Array, xs: Float32Array): void;
  /** Top-k by inner product, best first, ties by smaller offset. */
  search(q: Float32Array, k: number, opts?: SearchOptions): Hits;
  /** Removes offsets; unknown offsets are ignored. */
  remove(offsets: Uint32Array): void;
  /** Writes the index to one file, atomically (temp file, fsync, rename). */
  save(path: string): Promise<void>;
}

export type { Hits };
