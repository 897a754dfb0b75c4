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
   * Keeps only offsets for which it returns true. When few candidates pass, indexes fall back to an
   * exact scan over them, so exactly min(k, candidates) results come back.
   */
  allow?: (offset: number) => boolean;
  /**
   * Optional list of all allowed offsets, when the caller knows it (it is the fast path for a
   * selective filter: scanned exactly instead of probing). Must agree with `allow`.
   */
  candidates?: Uint32Array;
  /**
   * An offset to leave out (the query item itself), also given to `allow`. In-memory indexes
   * apply `allow`; a store that searches on its server applies `candidates` and `exclude`.
   */
  exclude?: number;
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
