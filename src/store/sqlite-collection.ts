import type { Modality } from "../core/types.js";
import type { CollectionStore, ItemPairs, StoreReader, StoreWriter } from "./api.js";
import { Store, type StoreChanges } from "./store.js";
import type { ItemRecord, NewItem, Pair, StoreOpenOptions } from "./types.js";
import type { WhereFilter } from "./where.js";

/** The synchronous Store's calls, resolved as promises: what `read`/`transaction` callbacks get. */
class SqliteOps implements StoreWriter {
  constructor(private readonly store: Store) {}

  async model(): Promise<{ modelId: string; dim: number } | null> {
    return this.store.model();
  }
  async get(id: string): Promise<ItemRecord | undefined> {
    return this.store.get(id);
  }
  async getManyByOffsets(offsets: ArrayLike<number>): Promise<ItemRecord[]> {
    return this.store.getManyByOffsets(offsets);
  }
  async findByHash(hash: string): Promise<ItemRecord[]> {
    return this.store.findByHash(hash);
  }
  async vectors(modality?: Modality, from?: number): Promise<{ offsets: Uint32Array; xs: Float32Array }> {
    return this.store.vectors(modality, from);
  }
  async vector(offset: number): Promise<Float32Array | undefined> {
    return this.store.vector(offset);
  }
  async vectorsAt(offsets: ArrayLike<number>): Promise<Float32Array> {
    return this.store.vectorsAt(offsets);
  }
  async liveOffsets(modality?: Modality, from?: number): Promise<Uint32Array> {
    return this.store.liveOffsets(modality, from);
  }
  async offsetsWhere(where: WhereFilter, modality?: Modality): Promise<Uint32Array> {
    return this.store.offsetsWhere(where, modality);
  }
  async pairedIds(id: string): Promise<string[]> {
    return this.store.pairedIds(id);
  }
  async pairsOfMany(ids: readonly string[]): Promise<Map<string, ItemPairs>> {
    return this.store.pairsOfMany(ids);
  }
  async keywordSearch(query: string, limit: number): Promise<{ offsets: Uint32Array; scores: Float64Array }> {
    return this.store.keywordSearch(query, limit);
  }
  async pairs(): Promise<{ image: Uint32Array; text: Uint32Array }> {
    return this.store.pairs();
  }
  async counts(): Promise<{ images: number; texts: number; pairs: number }> {
    return this.store.counts();
  }
  async sources(prefix?: string): Promise<{ id: string; source: string; hash: string | null }[]> {
    return this.store.sources(prefix);
  }
  async getSettingRaw(key: string): Promise<string | undefined> {
    return this.store.getSettingRaw(key);
  }
  async generation(): Promise<number> {
    return this.store.generation();
  }
  async changesSince(from: number): Promise<StoreChanges | null> {
    return this.store.changesSince(from);
  }
  async changedSince(from: number, modality?: Modality): Promise<number> {
    return this.store.changedSince(from, modality);
  }
  async getBlob(key: string): Promise<Buffer | undefined> {
    return this.store.getBlob(key);
  }
  async setModel(modelId: string, dim: number): Promise<void> {
    return this.store.setModel(modelId, dim);
  }
  async addItems(items: NewItem[], vectors: Float32Array, pairs?: Pair[]): Promise<ItemRecord[]> {
    return this.store.addItems(items, vectors, pairs);
  }
  async addPairs(pairs: Pair[]): Promise<void> {
    return this.store.addPairs(pairs);
  }
  async remove(ids: string[], opts?: { strict?: boolean }): Promise<Uint32Array> {
    return this.store.remove(ids, opts);
  }
  async setSetting(key: string, value: unknown): Promise<void> {
    return this.store.setSetting(key, value);
  }
  async putBlob(key: string, data: Buffer): Promise<void> {
    return this.store.putBlob(key, data);
  }
  async getSetting<T>(key: string): Promise<T | undefined> {
    return this.store.getSetting<T>(key);
  }
}

/**
 * The embedded store behind the async seam (`CollectionStore`): each method runs the synchronous
 * `Store` call (microseconds to milliseconds, no I/O wait worth yielding for) and resolves.
 *
 * One SQLite connection serves the whole handle, so a transaction that spans awaits would see
 * every other call made meanwhile. `read` and `transaction` therefore hold this handle's queue:
 * calls made on the handle meanwhile wait until they end, while `fn` uses the ops object it is
 * given, which runs at once. Other processes are serialised by SQLite itself (WAL, busy timeout).
 */
export class SqliteCollectionStore implements CollectionStore {
  readonly kind = "sqlite" as const;
  readonly location: string;
  private busy: Promise<void> = Promise.resolve();
  private readonly ops: SqliteOps;

  private constructor(readonly store: Store) {
    this.location = store.dir;
    this.ops = new SqliteOps(store);
  }

  /** Opens (by default creating) the SQLite collection in `dir`; see `Store.open`. */
  static async open(dir: string, opts: StoreOpenOptions = {}): Promise<SqliteCollectionStore> {
    return new SqliteCollectionStore(Store.open(dir, opts));
  }

  get lastGeneration(): number {
    return this.store.lastGeneration;
  }

  /** Waits until no `read`/`transaction` of this handle is open. */
  private async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.busy;
      await seen;
    } while (seen !== this.busy);
  }

  async read<T>(fn: (r: StoreReader) => Promise<T>): Promise<T> {
    return this.exclusive("read", fn);
  }

  async transaction<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    return this.exclusive("write", fn);
  }

  private async exclusive<T>(mode: "read" | "write", fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    const prev = this.busy;
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    this.busy = prev.then(() => mine);
    await prev;
    try {
      this.store.beginTransaction(mode);
      let ok = false;
      try {
        const out = await fn(this.ops);
        ok = true;
        return out;
      } finally {
        this.store.endTransaction(ok);
      }
    } finally {
      done();
    }
  }

  async model(): Promise<{ modelId: string; dim: number } | null> {
    await this.idle();
    return this.ops.model();
  }
  async get(id: string): Promise<ItemRecord | undefined> {
    await this.idle();
    return this.ops.get(id);
  }
  async getManyByOffsets(offsets: ArrayLike<number>): Promise<ItemRecord[]> {
    await this.idle();
    return this.ops.getManyByOffsets(offsets);
  }
  async findByHash(hash: string): Promise<ItemRecord[]> {
    await this.idle();
    return this.ops.findByHash(hash);
  }
  async vectors(modality?: Modality, from?: number): Promise<{ offsets: Uint32Array; xs: Float32Array }> {
    await this.idle();
    return this.ops.vectors(modality, from);
  }
  async vector(offset: number): Promise<Float32Array | undefined> {
    await this.idle();
    return this.ops.vector(offset);
  }
  async vectorsAt(offsets: ArrayLike<number>): Promise<Float32Array> {
    await this.idle();
    return this.ops.vectorsAt(offsets);
  }
  async liveOffsets(modality?: Modality, from?: number): Promise<Uint32Array> {
    await this.idle();
    return this.ops.liveOffsets(modality, from);
  }
  async offsetsWhere(where: WhereFilter, modality?: Modality): Promise<Uint32Array> {
    await this.idle();
    return this.ops.offsetsWhere(where, modality);
  }
  async pairedIds(id: string): Promise<string[]> {
    await this.idle();
    return this.ops.pairedIds(id);
  }
  async pairsOfMany(ids: readonly string[]): Promise<Map<string, ItemPairs>> {
    await this.idle();
    return this.ops.pairsOfMany(ids);
  }
  async keywordSearch(query: string, limit: number): Promise<{ offsets: Uint32Array; scores: Float64Array }> {
    await this.idle();
    return this.ops.keywordSearch(query, limit);
  }
  async pairs(): Promise<{ image: Uint32Array; text: Uint32Array }> {
    await this.idle();
    return this.ops.pairs();
  }
  async counts(): Promise<{ images: number; texts: number; pairs: number }> {
    await this.idle();
    return this.ops.counts();
  }
  async sources(prefix?: string): Promise<{ id: string; source: string; hash: string | null }[]> {
    await this.idle();
    return this.ops.sources(prefix);
  }
  async getSettingRaw(key: string): Promise<string | undefined> {
    await this.idle();
    return this.ops.getSettingRaw(key);
  }
  async generation(): Promise<number> {
    await this.idle();
    return this.ops.generation();
  }
  async changesSince(from: number): Promise<StoreChanges | null> {
    await this.idle();
    return this.ops.changesSince(from);
  }
  async changedSince(from: number, modality?: Modality): Promise<number> {
    await this.idle();
    return this.ops.changedSince(from, modality);
  }
  async getBlob(key: string): Promise<Buffer | undefined> {
    await this.idle();
    return this.ops.getBlob(key);
  }
  async setModel(modelId: string, dim: number): Promise<void> {
    await this.idle();
    return this.ops.setModel(modelId, dim);
  }
  async addItems(items: NewItem[], vectors: Float32Array, pairs?: Pair[]): Promise<ItemRecord[]> {
    await this.idle();
    return this.ops.addItems(items, vectors, pairs);
  }
  async addPairs(pairs: Pair[]): Promise<void> {
    await this.idle();
    return this.ops.addPairs(pairs);
  }
  async remove(ids: string[], opts?: { strict?: boolean }): Promise<Uint32Array> {
    await this.idle();
    return this.ops.remove(ids, opts);
  }
  async setSetting(key: string, value: unknown): Promise<void> {
    await this.idle();
    return this.ops.setSetting(key, value);
  }
  async putBlob(key: string, data: Buffer): Promise<void> {
    await this.idle();
    return this.ops.putBlob(key, data);
  }
  async getSetting<T>(key: string): Promise<T | undefined> {
    await this.idle();
    return this.ops.getSetting<T>(key);
  }

  async close(): Promise<void> {
    await this.idle();
    this.store.close();
  }
}
