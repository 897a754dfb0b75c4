import { ClipdbError } from "../core/errors.js";
import type { Hits, Modality, SearchOptions } from "../core/types.js";
import { FlatIndex } from "../index/index.js";
import type { CollectionStore } from "../store/index.js";

/** Live items of one modality, from the store's counts (no offsets are read). */
export async function countOf(store: CollectionStore, modality: Modality): Promise<number> {
  const c = await store.counts();
  return modality === "image" ? c.images : c.texts;
}

/**
 * The exact index of one modality, read from the store's vectors on first use rather than at open.
 * Opening a large collection to answer IVF or HNSW queries then reads no vectors at all (a 1M × 512
 * collection holds 2 GB of them); the first exact search pays the load instead. Until it is loaded,
 * adds and removes need no work: the store already holds them, and the load reads the store.
 * Call `prepare()` (async) before `size` or `search`: it counts or loads as needed.
 */
export class LazyFlat {
  readonly metric = "ip" as const;
  readonly isTrained = true;
  private inner?: FlatIndex;
  private count?: number;

  constructor(private readonly store: CollectionStore, private readonly modality: Modality, readonly dim: number) {}

  /** Whether the vectors have been read. */
  get loaded(): boolean {
    return this.inner !== undefined;
  }

  /** Counts the live items (when not cached) and, with `load`, reads the vectors. */
  async prepare(load = false): Promise<void> {
    if (load && !this.inner) {
      const { offsets, xs } = await this.store.vectors(this.modality);
      const inner = new FlatIndex(this.dim);
      if (offsets.length) inner.add(offsets, xs);
      this.inner ??= inner;
    }
    if (!this.inner && this.count === undefined) this.count = await countOf(this.store, this.modality);
  }

  /** Vectors held; the store's count while not loaded (cached by `prepare` until the next change). */
  get size(): number {
    if (this.inner) return this.inner.size;
    return this.count ?? 0;
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

  /** Exact search; the vectors must have been read (`prepare(true)`). */
  search(q: Float32Array, k: number, opts?: SearchOptions): Hits {
    if (!this.inner) throw new ClipdbError("INTERNAL", { reason: "an exact index was searched before its vectors were read (prepare)" });
    return this.inner.search(q, k, opts);
  }

  /** Offsets held; needs `prepare(true)`. */
  offsets(): Uint32Array {
    if (!this.inner) throw new ClipdbError("INTERNAL", { reason: "an exact index was listed before its vectors were read (prepare)" });
    return this.inner.offsets();
  }

  /** Flat indexes are rebuilt from the store, never saved. */
  async save(): Promise<void> {}
}
