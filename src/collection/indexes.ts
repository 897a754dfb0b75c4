import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Hits, Modality, SearchOptions, VectorIndex } from "../core/types.js";
import { ClipdbError } from "../core/errors.js";
import { testPoint } from "../core/testpoint.js";
import { DeltaIndex, loadIndex, residentBytesOf, type BaseIndex } from "../index/index.js";
import { AUTO_EXACT_BELOW, annKind, annKinds, type IndexChoice, type LocalIndexes, type ModalityIndexes } from "../query/index.js";
import type { CollectionStore, StoreChanges } from "../store/index.js";
import type { IndexStatus } from "./types.js";
import { LazyFlat } from "./lazy-flat.js";
import { makeIndex, type BuildOptions } from "./index-build.js";
import { localKind } from "./kinds.js";
import {
  INDEX_DIR, IndexLock, asIndexCorrupt, cleanIndexDir, indexFileName, quickCheck, readRecords, writeRecords, type IndexRecord,
} from "./index-files.js";

export { defaultNlist, type BuildOptions } from "./index-build.js";

/**
 * When an index's delta (changes since its file was written) reaches max(COMPACT_MIN, size *
 * COMPACT_FRACTION) changes, it is folded into a new file: on `close()`, after a write, or with
 * `clipdb index compact`. Defaults 4096 and 0.1: a delta scan costs dim multiply-adds per row,
 * so 4096 rows add about 1.5 ms to a query on the dev VM, and a 10% delta keeps the amortised
 * rewrite cost per written item at about 10 items' worth of file.
 */
export const COMPACT_MIN = 4096;
/** See COMPACT_MIN. */
export const COMPACT_FRACTION = 0.1;

/** Options of an IndexSet. */
export interface IndexSetOptions {
  /** Smallest delta that is compacted automatically; default COMPACT_MIN. */
  compactMin?: number;
  /** Delta, as a fraction of the file's size, that is compacted automatically; default COMPACT_FRACTION. */
  compactFraction?: number;
}

/** One recorded index in this process: its record, and once loaded its base + delta and the generation applied. */
interface Slot {
  rec: IndexRecord;
  idx?: DeltaIndex;
  gen: number;
  error?: ClipdbError;
  loading?: Promise<void>;
  /** Log count of changes since the file, up to generation `gen` (while not loaded). */
  counted?: { gen: number; n: number };
}

/** Changes since a generation with the vectors of the added items of some modalities. */
interface Batch {
  to: number;
  removed: { image: Uint32Array; text: Uint32Array };
  added: Map<Modality, { offsets: Uint32Array; xs: Float32Array | null }>;
}

const MODALITIES: Modality[] = ["image", "text"];
const keyOf = (type: string, modality: Modality) => `${type}:${modality}`;

/**
 * The indexes of an open collection: an exact Flat index per modality, read from the store on
 * first exact search, plus the IVF and HNSW indexes recorded in the store's settings, each loaded
 * from its file on first use.
 *
 * Writes never touch index files. The store is the source of truth and logs every commit's change
 * (see `Store.changesSince`); before each search this set replays the commits it has not applied,
 * its own and other processes' alike, into each loaded index's delta (`DeltaIndex`), so a write of
 * m items costs O(m) here. A reader further behind than the log reconciles in full (compares
 * offsets). Index records (build, rebuild, compaction, drop) are re-read at every sync, so a
 * running server sees another process's builds at its next query.
 *
 * A damaged or missing index file only disables that index: exact search, writes, builds and drops
 * go on, `status()` reports it, and searches that ask for it get INDEX_CORRUPT.
 */
export class IndexSet {
  private flats = new Map<Modality, LazyFlat>();
  private flatGen = -1;
  private slots = new Map<string, Slot>();
  private recordsRaw: string | null = null;
  private readonly lock: IndexLock;
  private readonly compactMin: number;
  private readonly compactFraction: number;
  private syncing: Promise<void> = Promise.resolve();

  constructor(private readonly store: CollectionStore, private readonly dir: string, opts: IndexSetOptions = {}) {
    this.lock = new IndexLock(store);
    this.compactMin = opts.compactMin ?? COMPACT_MIN;
    this.compactFraction = opts.compactFraction ?? COMPACT_FRACTION;
  }

  /** Removes temporary files of killed saves and files of replaced indexes (when no other process holds the lock). */
  clean(): Promise<string[]> {
    return cleanIndexDir(this.store, this.dir, this.lock);
  }

  /**
   * Re-reads the index records and replays the store's new commits into everything loaded. Cheap
   * when nothing changed. Calls run one at a time (a second waits for the first, then runs).
   */
  sync(): Promise<void> {
    const run = this.syncing.then(() => this.syncNow());
    this.syncing = run.catch(() => undefined);
    return run;
  }

  private async syncNow(): Promise<void> {
    const raw = (await this.store.getSettingRaw("indexes")) ?? "[]";
    if (raw !== this.recordsRaw) this.applyRecords(raw);
    const gen = await this.store.generation();
    const model = await this.store.model();
    if (!model) {
      this.flatGen = gen;
      return;
    }
    const memo = new Map<number, Batch | null>();
    if (this.flats.size === 0) {
      for (const m of MODALITIES) this.flats.set(m, new LazyFlat(this.store, m, model.dim));
      this.flatGen = gen;
    } else if (gen !== this.flatGen) {
      const need = MODALITIES.filter((m) => this.flats.get(m)!.loaded);
      const batch = await this.batch(this.flatGen, need, memo);
      for (const [m, flat] of this.flats) {
        if (!batch) flat.reset();
        else flat.apply(batch.removed[m], batch.added.get(m)?.offsets, batch.added.get(m)?.xs ?? undefined);
      }
      this.flatGen = batch?.to ?? gen;
    }
    for (const slot of this.slots.values()) if (slot.idx && slot.gen !== gen) await this.catchUp(slot, memo);
  }

  /**
   * The indexes a search needs, loaded and up to date: exact always; for a kind's name ("ivf",
   * "hnsw") that index (INDEX_CORRUPT when it is damaged); for "auto" the built kind of lowest auto
   * rank (HNSW, else IVF) of each modality holding more than AUTO_EXACT_BELOW vectors, skipping
   * damaged ones.
   */
  async forSearch(kind: IndexChoice, modalities: Modality[]): Promise<Map<Modality, ModalityIndexes>> {
    await this.sync();
    const out = new Map<Modality, ModalityIndexes>();
    for (const m of modalities) {
      const flat = this.flats.get(m);
      if (!flat) continue;
      await flat.prepare(false);
      const set: ModalityIndexes = { flat, ann: {} };
      out.set(m, set);
      if (kind === "auto") {
        if (flat.size <= AUTO_EXACT_BELOW) continue;
        for (const { name } of annKinds("sqlite")) {
          const slot = await this.loaded(name, m);
          if (!slot || slot.error) continue;
          set.ann[name] = this.guarded(slot);
          break;
        }
      } else if (kind !== "exact") {
        localKind(kind, "index");
        const slot = await this.loaded(kind, m);
        if (!slot) continue;
        if (slot.error) throw slot.error;
        set.ann[kind] = this.guarded(slot);
      }
    }
    return out;
  }

  /** Every index that loads, up to date (evaluation and tuning); damaged ones are left out. */
  async all(): Promise<Map<Modality, LocalIndexes>> {
    await this.sync();
    const out = new Map<Modality, LocalIndexes>();
    for (const [m, flat] of this.flats) {
      await flat.prepare(true);
      out.set(m, { flat, ann: {} });
    }
    for (const { rec } of [...this.slots.values()]) {
      const slot = await this.loaded(rec.type, rec.modality);
      const set = out.get(rec.modality);
      if (slot?.idx && set) set.ann[rec.type] = this.guarded(slot);
    }
    return out;
  }

  /**
   * Builds (or rebuilds) an index of kind `opts.type` (IVF, HNSW; see kinds.ts) per modality from one snapshot of the stored vectors,
   * writes it to a new file and records it, then removes the file it replaces. Holds the index
   * lock (one build or save at a time across processes); writes of items go on meanwhile and are
   * replayed into the new index at the next sync.
   */
  async build(opts: BuildOptions): Promise<IndexStatus[]> {
    localKind(opts.type);
    if (!(await this.store.model())) return [];
    return this.lock.with(async () => {
      await this.sync();
      const built: IndexStatus[] = [];
      mkdirSync(join(this.dir, INDEX_DIR), { recursive: true });
      for (const modality of opts.modalities ?? MODALITIES) {
        const snap = await this.store.read(async (r) => ({ gen: await r.generation(), ...(await r.vectors(modality)) }));
        if (snap.offsets.length === 0) continue;
        const { idx, spec } = await makeIndex(this.store, opts, modality, snap.offsets, snap.xs);
        const file = indexFileName(opts.type, modality, snap.gen);
        await idx.save(join(this.dir, file));
        testPoint("index:file-written");
        const rec: IndexRecord = { type: opts.type, modality, spec, file, generation: snap.gen, size: snap.offsets.length };
        await this.replaceRecord(rec, new DeltaIndex(idx));
        built.push(await this.describe(rec, await this.store.counts()));
      }
      return built;
    });
  }

  /**
   * Folds each index's delta into a new file when it holds at least max(compactMin, size *
   * compactFraction) changes, or any change with `force`. Never throws: an index that fails to
   * load or save is marked damaged (the store, the source of truth, is untouched). Returns the
   * indexes compacted, as "type:modality".
   */
  async compact(force = false): Promise<string[]> {
    const done: string[] = [];
    await this.sync();
    for (const [key, slot] of [...this.slots]) {
      if (slot.error || (await this.pendingOf(slot)) < this.thresholdOf(slot.rec, force)) continue;
      try {
        const ok = await this.lock.with(async () => {
          await this.sync();
          const cur = this.slots.get(key);
          if (!cur || cur.error) return false;
          await this.ensure(cur);
          if (!cur.idx || cur.idx.pending < this.thresholdOf(cur.rec, force)) return false;
          cur.idx.compact();
          // The file holds what the index held now; commits replayed while it is written (other
          // requests run during the awaits) stay in the delta, and are replayed by other readers.
          const gen = cur.gen;
          const size = cur.idx.size;
          const file = indexFileName(cur.rec.type, cur.rec.modality, gen);
          await cur.idx.save(join(this.dir, file));
          testPoint("index:file-written");
          await this.replaceRecord({ ...cur.rec, file, generation: gen, size }, cur.idx, cur.gen);
          return true;
        });
        if (ok) done.push(key);
      } catch (e) {
        const cur = this.slots.get(key);
        if (cur) this.damage(cur, e);
      }
    }
    return done;
  }

  /** Drops the approximate indexes of kind `type` and their files (holding the index lock). */
  async drop(type: string): Promise<void> {
    localKind(type);
    await this.lock.with(async () => {
      await this.sync();
      const { records } = await readRecords(this.store);
      await this.commitRecords(records.filter((r) => r.type !== type));
      for (const r of records.filter((r) => r.type === type)) rmSync(join(this.dir, r.file), { force: true });
    });
  }

  /** Built indexes with size, pending changes, bytes on disk, and damage (if any). */
  async status(): Promise<IndexStatus[]> {
    await this.sync();
    const out: IndexStatus[] = [];
    const counts = await this.store.counts();
    for (const s of [...this.slots.values()]) out.push(await this.describe(s.rec, counts));
    return out;
  }

  // ---- internals ----

  /** One record's status; `counts` are the store's live counts (read once per status call). */
  private async describe(rec: IndexRecord, counts: { images: number; texts: number }): Promise<IndexStatus> {
    const slot = this.slots.get(keyOf(rec.type, rec.modality));
    const path = join(this.dir, rec.file);
    const live = rec.modality === "image" ? counts.images : counts.texts;
    const error = slot?.error ?? (slot?.idx ? null : quickCheck(this.dir, rec));
    const pending = slot ? await this.pendingOf(slot) : await this.store.changedSince(rec.generation, rec.modality);
    const st: IndexStatus = {
      type: rec.type,
      kind: annKind(rec.type, "sqlite")?.id ?? rec.type,
      modality: rec.modality,
      spec: rec.spec,
      size: slot?.idx ? slot.idx.size : live,
      pending: Number.isFinite(pending) ? pending : live,
      bytes: statSync(path, { throwIfNoEntry: false })?.size ?? 0,
    };
    if (error) st.damaged = error.message;
    else if (st.size > 0) {
      try {
        st.bytesPerVector = Math.round((10 * residentBytesOf(path)) / (slot?.idx ? slot.idx.base.size : rec.size)) / 10;
      } catch {
        // A file that cannot be read is reported through `damaged` by the next load.
      }
    }
    return st;
  }

  /**
   * Changes not yet in the file: the loaded delta, or the store's log count since the file (kept
   * per slot and extended from the last generation counted, so each write counts only its own rows).
   */
  private async pendingOf(slot: Slot): Promise<number> {
    if (slot.idx) return slot.idx.pending;
    const c = slot.counted ?? { gen: slot.rec.generation, n: 0 };
    const { gen, more } = await this.store.read(async (r) => ({ gen: await r.generation(), more: await r.changedSince(c.gen, slot.rec.modality) }));
    slot.counted = { gen, n: c.n + more };
    return slot.counted.n;
  }

  private thresholdOf(rec: IndexRecord, force: boolean): number {
    return force ? 1 : Math.max(this.compactMin, Math.ceil(rec.size * this.compactFraction));
  }

  /** Makes the slots match the records: a slot whose file changed is reloaded on next use. */
  private applyRecords(raw: string): void {
    const records = JSON.parse(raw) as IndexRecord[];
    const next = new Map<string, Slot>();
    for (const rec of records) {
      const key = keyOf(rec.type, rec.modality);
      const cur = this.slots.get(key);
      if (cur && cur.rec.file === rec.file) {
        cur.rec = { ...rec, size: rec.size ?? 0 };
        next.set(key, cur);
      } else next.set(key, { rec: { ...rec, size: rec.size ?? 0 }, gen: -1 });
    }
    this.slots = next;
    this.recordsRaw = raw;
  }

  /** Writes the records (lock held) and makes the slots match. */
  private async commitRecords(records: IndexRecord[]): Promise<void> {
    this.applyRecords(await writeRecords(this.store, records));
  }

  /**
   * Records `rec` in place of the same type and modality, installs `idx` for it (holding the
   * commits up to `memGen`, which may be past the file's), and removes the replaced file.
   */
  private async replaceRecord(rec: IndexRecord, idx: DeltaIndex, memGen = rec.generation): Promise<void> {
    const { records } = await readRecords(this.store);
    const old = records.find((r) => r.type === rec.type && r.modality === rec.modality);
    await this.commitRecords([...records.filter((r) => r !== old), rec]);
    const slot = this.slots.get(keyOf(rec.type, rec.modality))!;
    slot.idx = idx;
    slot.gen = memGen;
    slot.error = undefined;
    testPoint("index:recorded");
    if (old && old.file !== rec.file) rmSync(join(this.dir, old.file), { force: true });
  }

  /**
   * The slot of `type` over `modality`, loaded (or marked damaged). A file that vanished because
   * another process replaced it (a compaction or rebuild between our last sync and the load) is
   * not damage: the records are re-read and the new file loaded instead.
   */
  private async loaded(type: string, modality: Modality): Promise<Slot | undefined> {
    for (let attempt = 0; ; attempt++) {
      const slot = this.slots.get(keyOf(type, modality));
      if (!slot) return undefined;
      await this.ensure(slot);
      const raw = (await this.store.getSettingRaw("indexes")) ?? "[]";
      if (!slot.error || attempt > 0 || raw === this.recordsRaw) return slot;
      this.applyRecords(raw);
    }
  }

  /** Loads a slot's file (once) and replays the commits since it; a failure marks it damaged. */
  private async ensure(slot: Slot): Promise<void> {
    if (slot.idx || slot.error) return;
    slot.loading ??= (async () => {
      try {
        const base = (await loadIndex(join(this.dir, slot.rec.file))) as unknown as BaseIndex;
        slot.idx = new DeltaIndex(base);
        slot.gen = slot.rec.generation;
        await this.catchUp(slot, new Map());
      } catch (e) {
        this.damage(slot, e);
      } finally {
        slot.loading = undefined;
      }
    })();
    await slot.loading;
  }

  private damage(slot: Slot, e: unknown): void {
    slot.idx = undefined;
    slot.error = asIndexCorrupt(slot.rec, this.dir, e);
  }

  /** Replays the commits a loaded slot has not applied (or reconciles in full when the log is short). */
  private async catchUp(slot: Slot, memo: Map<number, Batch | null>): Promise<void> {
    const idx = slot.idx!;
    const m = slot.rec.modality;
    try {
      const batch = await this.batch(slot.gen, [m], memo);
      if (batch) {
        if (batch.removed[m].length) idx.remove(batch.removed[m]);
        const add = batch.added.get(m);
        if (add && add.offsets.length) idx.add(add.offsets, add.xs!);
        slot.gen = batch.to;
      } else slot.gen = await this.reconcile(idx, m);
    } catch (e) {
      this.damage(slot, e);
    }
  }

  /** Adds and removes offsets so that `idx` holds exactly the store's live items of a modality; returns the generation. */
  private reconcile(idx: DeltaIndex, modality: Modality): Promise<number> {
    return this.store.read(async (r) => {
      const gen = await r.generation();
      const live = await r.liveOffsets(modality);
      const have = new Set(idx.offsets());
      const liveSet = new Set(live);
      const extra = Uint32Array.from([...have].filter((o) => !liveSet.has(o)));
      if (extra.length) idx.remove(extra);
      const missing = live.filter((o) => !have.has(o));
      if (missing.length) idx.add(missing, await r.vectorsAt(missing));
      return gen;
    });
  }

  /** The commits after `from`, with vectors for the modalities in `need`, read in one snapshot (memoised per sync). */
  private async batch(from: number, need: Modality[], memo: Map<number, Batch | null>): Promise<Batch | null> {
    const hit = memo.get(from);
    if (hit !== undefined && (hit === null || need.every((m) => hit.added.get(m)?.xs))) return hit;
    const out = await this.store.read(async (r): Promise<Batch | null> => {
      const ch: StoreChanges | null = await r.changesSince(from);
      if (!ch) return null;
      const added = new Map<Modality, { offsets: Uint32Array; xs: Float32Array | null }>();
      for (const m of MODALITIES) {
        const offsets = ch.added[m];
        added.set(m, { offsets, xs: need.includes(m) || hit?.added.get(m)?.xs ? await r.vectorsAt(offsets) : null });
      }
      return { to: ch.to, removed: ch.removed, added };
    });
    memo.set(from, out);
    return out;
  }

  /** A view of a slot's index whose failures (a damaged list read lazily) mark the slot damaged. */
  private guarded(slot: Slot): VectorIndex {
    const idx = slot.idx!;
    const fail = (e: unknown): never => {
      this.damage(slot, e);
      throw slot.error;
    };
    return {
      dim: idx.dim,
      metric: "ip",
      isTrained: true,
      get size() {
        return idx.size;
      },
      train: () => {},
      add: (o, x) => idx.add(o, x),
      remove: (o) => idx.remove(o),
      save: (p) => idx.save(p),
      search(q: Float32Array, k: number, opts?: SearchOptions): Hits {
        try {
          return idx.search(q, k, opts);
        } catch (e) {
          return fail(e);
        }
      },
    };
  }
}
