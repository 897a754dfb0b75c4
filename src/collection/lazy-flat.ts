import type { Hits, Modality, SearchOptions } from "../core/types.js";
import { FlatIndex } from "../index/index.js";
import type { Store } from "../store/index.js";

/** Live items of one modality, from the store's counts (no offsets are read). */
export function countOf(store: Store, modality: Modality): number {
  const c = store.counts();
  return modality === "image" ? c.images : c.texts;
}

/**
 * The exact index of one modality, read from the store's vectors on first use rather than at open.
 * Opening a large collection to answer IVF or HNSW queries then reads no vectors at all (a 1M × 512
 * collection holds 2 GB of them); the first exact search pays the load instead. Until it is loaded,
 * adds and removes need no work: the store already holds them, and the load reads the store.
 */
export class LazyFlat {
  readonly metric = "ip" as const;
  readonly isTrained = true;
  private inner?: FlatIndex;
  private count?: number;

  constructor(private readonly store: Store, private readonly modality: Modality, readonly dim: number) {}

  /** Whether the vectors have been read. */
  get loaded(): boolean {
    return this.inner !== undefined;
  }

  private index(): FlatIndex {
    if (!this.inner) {
      const { offsets, xs } = this.store.vectors(this.modality);
      this.inner = new FlatIndex(this.dim);
      if (offsets.length) this.inner.add(offsets, xs);
    }
    return this.inner;
  }

  /** Vectors held; counted in the store while not loaded (and cached until the next change). */
  get size(): number {
    if (this.inner) return this.inner.size;
    return (this.count ??= countOf(this.store, this.modality));
  }

  /** Forgets the cached count (another process wrote to the store). */
  invalidate(): void {
    this.count = undefined;
  }

  /** Forgets everything read: the next use reads the store again (after a gap in the change log). */
  reset(): void {
    this.inner = undefined;
    this.count = undefined;
  }

  /**
   * Applies committed changes: removals, then additions (`xs` is needed only once loaded).
   * Replaying a change already read is harmless: adds overwrite, removes of absent offsets are ignored.
   */
  apply(removed: Uint32Array, added?: Uint32Array, xs?: Float32Array): void {
    this.count = undefined;
    if (!this.inner) return;
    if (removed.length) this.inner.remove(removed);
    if (added && added.length) {
      if (!xs) this.reset();
      else this.inner.add(added, xs);
    }
  }

  train(): void {}

  add(offsets: Uint32Array, xs: Float32Array): void {
    if (this.inner) this.inner.add(offsets, xs);
    else this.count = undefined;
  }

  remove(offsets: Uint32Array): void {
    if (this.inner) this.inner.remove(offsets);
    else this.count = undefined;
  }

  search(q: Float32Array, k: number, opts?: SearchOptions): Hits {
    return this.index().search(q, k, opts);
  }

  offsets(): Uint32Array {
    return this.inner ? this.inner.offsets() : this.store.liveOffsets(this.modality);
  }

  /** Flat indexes are rebuilt from the store, never saved. */
  async save(): Promise<void> {}
}
