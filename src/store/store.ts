import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import { VectorBlocks } from "./blocks.js";
import { checkBatch, toRecord } from "./records.js";
import { checkWhere, sqliteWhere, type WhereFilter } from "./where.js";
import { DEFAULT_BLOCK_SIZE, MIGRATIONS, SCHEMA_VERSION, checkHeader, migrate } from "./schema.js";
import { sqliteMatch } from "./fts.js";
import { DB_FILE, type Db, translateSqliteError } from "./sqlite.js";
import type { ItemRecord, NewItem, Pair, StoreOpenOptions, VerifyReport } from "./types.js";
import { verifyStore } from "./verify.js";
import { type Change, type StoreChanges, CHANGE_LOG_KEEP, emptyChange, u32Blob, u32Of } from "./changelog.js";
import { type Statements, prepareStatements } from "./sqlite-statements.js";

export { CHANGE_LOG_KEEP, type StoreChanges };

const MAX_OFFSET = 0xffffffff;

/**
 * The durable records of one collection: items, caption pairs, vectors, model, settings, in one
 * SQLite database `<dir>/clipdb.sqlite` (WAL mode) beside the index files of other layers.
 *
 * Durability: every write is one transaction; `synchronous=FULL` by default, so a write that
 * returned is on disk even after power loss, at the cost of one fsync per transaction (a few ms,
 * small next to embedding a batch). A killed process (SIGKILL) leaves the last committed state.
 * Concurrency: any number of reader processes and one writer at a time; writers wait up to
 * `busyTimeoutMs` for each other. Use one Store per process and directory.
 */
export class Store {
  /** The collection directory. */
  readonly dir: string;
  /** The database file. */
  readonly file: string;
  /** True when opened read-only. */
  readonly readonly: boolean;
  /** Vectors per storage block (fixed when the database was created). */
  readonly blockSize: number;

  private readonly db: Db;
  private blocks: VectorBlocks | undefined;
  private readonly st: Statements;
  private readonly whereCache = new Map<string, Database.Statement<unknown[], number>>();
  /** The change the current write transaction makes, recorded in `changes` when it bumps. */
  private change = emptyChange();
  private committed = -1;

  private constructor(dir: string, file: string, db: Db, readonly_: boolean) {
    this.dir = dir;
    this.file = file;
    this.db = db;
    this.readonly = readonly_;
    const metaGet = db.prepare<[string], unknown>("SELECT value FROM meta WHERE key = ?").pluck();
    this.blockSize = Number(metaGet.get("block_size"));
    this.st = prepareStatements(db, metaGet);
  }

  /**
   * Opens (by default creating) the collection in `dir`.
   * - create (default true): make the directory and database when missing; otherwise NOT_FOUND.
   * - readonly (default false): open for reading only; a missing collection is NOT_FOUND.
   * Gives STORE_CORRUPT for a file that is not a clipdb database, is damaged, or was written by a
   * newer schema. An older schema is migrated (see schema.ts), which needs read-write access.
   */
  static open(dir: string, opts: StoreOpenOptions = {}): Store {
    const create = opts.create ?? true;
    const readonly = opts.readonly ?? false;
    const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > 65536) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "blockSize", reason: `${blockSize} is not an integer in 1..65536` });
    }
    if (os.endianness() !== "LE") {
      throw new ClipdbError("INTERNAL", { reason: "clipdb stores float32 vectors little-endian and does not run on big-endian machines" });
    }
    const absDir = path.resolve(dir);
    const file = path.join(absDir, DB_FILE);
    const dirStat = fs.statSync(absDir, { throwIfNoEntry: false });
    if (dirStat !== undefined && !dirStat.isDirectory()) {
      throw new ClipdbError("STORE_CORRUPT", { path: absDir, reason: "it is a file, not a collection directory", hint: "Pass the directory that holds clipdb.sqlite, or a new directory." });
    }
    if (!fs.existsSync(file)) {
      if (readonly || !create) {
        throw new ClipdbError("NOT_FOUND", { what: "collection", at: absDir, hint: "Create it first (open it with create, or run 'clipdb add'), or check --db." });
      }
      fs.mkdirSync(absDir, { recursive: true });
    }
    let db: Db | undefined;
    try {
      db = new Database(file, { readonly, fileMustExist: readonly || !create });
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
      const version = checkHeader(db, file);
      if (!readonly) {
        db.pragma("journal_mode = WAL");
        db.pragma("journal_size_limit = 67108864");
      }
      db.pragma(`synchronous = ${(opts.synchronous ?? "full") === "full" ? "FULL" : "NORMAL"}`);
      db.pragma("foreign_keys = ON");
      if (version < SCHEMA_VERSION) {
        if (readonly) {
          throw new ClipdbError("STORE_CORRUPT", {
            path: file,
            reason: version === 0 ? "the database is empty, not a collection" : `it uses the older schema version ${version}`,
            hint: "Open it once read-write (for example with 'clipdb stats') so it can be created or upgraded.",
          });
        }
        migrate(db, { blockSize }, MIGRATIONS);
      }
      const store = new Store(absDir, file, db, readonly);
      store.checkMeta();
      return store;
    } catch (e) {
      db?.close();
      if (e instanceof Database.SqliteError && e.code === "SQLITE_ERROR") {
        // For example a missing table in a file stamped as ours: damaged or edited by hand.
        throw new ClipdbError("STORE_CORRUPT", { path: file, reason: `its schema is broken (${e.message})`, hint: "Restore it from a backup." }, { cause: e });
      }
      throw translateSqliteError(e, file);
    }
  }

  /** The embedding model this collection was built with, or null before the first setModel. */
  model(): { modelId: string; dim: number } | null {
    return this.guard(() => {
      const modelId = this.st.metaGet.get("model_id");
      const dim = this.st.metaGet.get("dim");
      if (modelId === undefined || dim === undefined) return null;
      return { modelId: String(modelId), dim: Number(dim) };
    });
  }

  /**
   * Records the model on the first call; later calls only check it: a different dim gives
   * DIM_MISMATCH, a different model id MODEL_MISMATCH. A matching call writes nothing.
   */
  setModel(modelId: string, dim: number): void {
    if (typeof modelId !== "string" || modelId.length === 0) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "modelId", reason: "it must be a non-empty string" });
    }
    if (!Number.isInteger(dim) || dim < 1) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: `${dim} is not a positive integer` });
    }
    const check = (): boolean => {
      const cur = this.model();
      if (cur === null) return false;
      if (cur.dim !== dim) throw new ClipdbError("DIM_MISMATCH", { expected: cur.dim, got: dim, where: `model '${modelId}' for a collection of '${cur.modelId}'` });
      if (cur.modelId !== modelId) throw new ClipdbError("MODEL_MISMATCH", { expected: cur.modelId, got: modelId });
      return true;
    };
    if (check()) return;
    this.write(() => {
      if (check()) return; // another process set it meanwhile
      this.st.metaPut.run("model_id", modelId);
      this.st.metaPutInt.run("dim", dim);
    });
  }

  /**
   * Adds items and their vectors in one transaction and returns their records, in input order,
   * with new offsets (monotonic, never reused). `vectors` is items.length * dim contiguous
   * float32, L2-normalised (norm within 1e-3 of 1) and finite, else INVALID_VECTOR; a wrong
   * length gives DIM_MISMATCH. An id already stored or repeated in the batch gives DUPLICATE_ID.
   * `pairs` (optional) may name new or stored items. On any error nothing is written.
   * Needs setModel first. Cost: one fsync per call, so batch (hundreds of items per call).
   */
  addItems(items: NewItem[], vectors: Float32Array, pairs: Pair[] = []): ItemRecord[] {
    const metas = checkBatch(this.model(), items, vectors);
    if (items.length === 0 && pairs.length === 0) return [];
    return this.write(() => {
      const start = Number(this.st.metaGet.get("next_offset"));
      if (start + items.length - 1 > MAX_OFFSET) {
        throw new ClipdbError("INVALID_ARGUMENT", { name: "items", reason: "the collection has used all 2^32 offsets", hint: "Create a new collection." });
      }
      const createdAt = new Date().toISOString();
      const out: ItemRecord[] = new Array(items.length);
      for (let i = 0; i < items.length; i++) {
        const it = items[i];
        const offset = start + i;
        try {
          this.st.insertItem.run(offset, it.id, it.modality, it.source, it.text, metas[i], it.hash, createdAt);
        } catch (e) {
          if (e instanceof Database.SqliteError && e.code === "SQLITE_CONSTRAINT_UNIQUE" && e.message.includes("items.id")) {
            throw new ClipdbError("DUPLICATE_ID", { id: it.id }, { cause: e });
          }
          throw e;
        }
        out[i] = { id: it.id, modality: it.modality, source: it.source, text: it.text, meta: it.meta, hash: it.hash, offset, createdAt };
        this.change.added[it.modality]++;
      }
      if (items.length > 0) {
        this.vblocks().write(start, vectors);
        this.st.metaPutInt.run("next_offset", start + items.length);
        this.change.lo = start;
        this.change.hi = start + items.length;
      }
      this.insertPairs(pairs);
      return out;
    });
  }

  /**
   * Records caption pairs (text `textId` describes image `imageId`) in one transaction. An unknown
   * id gives NOT_FOUND, a wrong modality INVALID_ARGUMENT, and then nothing is written.
   * A pair already stored is kept once.
   */
  addPairs(pairs: Pair[]): void {
    if (pairs.length === 0) return;
    this.write(() => this.insertPairs(pairs));
  }

  /** The item with this id, or undefined. */
  get(id: string): ItemRecord | undefined {
    return this.guard(() => toRecord(this.st.byId.get(id)));
  }

  /** The item at this offset, or undefined. */
  getByOffset(offset: number): ItemRecord | undefined {
    return this.guard(() => toRecord(this.st.byOffset.get(offset)));
  }

  /**
   * The items at these offsets, in the same order (repeats repeated). Offsets that are not live
   * (removed, or never assigned) are left out, so the result can be shorter: match by `offset`.
   * One query for the whole list.
   */
  getManyByOffsets(offsets: ArrayLike<number>): ItemRecord[] {
    if (offsets.length === 0) return [];
    return this.guard(() => {
      const byOff = new Map<number, ItemRecord>();
      for (const row of this.st.byOffsets.iterate(JSON.stringify(Array.from(offsets)))) byOff.set(row[0], toRecord(row)!);
      const out: ItemRecord[] = [];
      for (let i = 0; i < offsets.length; i++) {
        const r = byOff.get(offsets[i]);
        if (r !== undefined) out.push(r);
      }
      return out;
    });
  }

  /** Items whose content hash equals `hash`, by offset. */
  findByHash(hash: string): ItemRecord[] {
    return this.guard(() => this.st.byHash.all(hash).map((r) => toRecord(r)!));
  }

  /** Items whose source equals `source` exactly, by offset. */
  findBySource(source: string): ItemRecord[] {
    return this.guard(() => this.st.bySource.all(source).map((r) => toRecord(r)!));
  }

  /**
   * Offsets (ascending) of the items that pass a metadata filter, optionally of one modality.
   * The object form is equality: meta[key], as a string, equals value for every key. Numbers
   * compare by their JSON text (2017 matches "2017"), booleans as "true"/"false"; null and missing
   * keys never match. The list form adds `!=`, `<`, `<=`, `>`, `>=`, `in` and `exists` (see
   * store/where.ts). Keys may not be empty or contain '"', '\\' or control characters
   * (INVALID_ARGUMENT naming the key); keys and values are bound parameters.
   * An empty `where` gives all live offsets. Cost: a scan of the items table (not of vectors).
   */
  offsetsWhere(where: WhereFilter, modality?: Modality): Uint32Array {
    const conds = checkWhere(where);
    if (conds.length === 0) return this.liveOffsets(modality);
    const { sql, params } = sqliteWhere(conds);
    if (modality !== undefined) params.push(modality);
    return this.guard(() => Uint32Array.from(this.whereStatement(sql, modality !== undefined).all(...params)));
  }

  /**
   * All live vectors of one modality (or all), in offset order, as one contiguous
   * offsets.length * dim buffer, read in one snapshot. `from` (default 0) keeps offsets >= from:
   * since offsets only grow, `from = nextOffset()` at an index build later gives what was added since.
   * Cost: one sequential pass over the vector blocks; memory: the result only. Measured at
   * 100k x 512 on the shared 2-core dev box: 0.38 s for all (one row per vector: 1.0 s),
   * 0.18 s for a modality holding 1/6 of the items.
   */
  vectors(modality?: Modality, from = 0): { offsets: Uint32Array; xs: Float32Array } {
    return this.read(() => {
      const offsets = this.liveOffsets(modality, from);
      const model = this.model();
      const xs = new Float32Array(offsets.length * (model?.dim ?? 0));
      if (offsets.length > 0) this.vblocks().loadSorted(offsets, xs);
      return { offsets, xs };
    });
  }

  /** The vector of a live offset (a copy), or undefined. */
  vector(offset: number): Float32Array | undefined {
    return this.read(() => {
      if (this.st.byOffset.get(offset) === undefined) return undefined;
      return this.vblocks().readOne(offset);
    });
  }

  /**
   * The vectors of these offsets, in the same order, as one offsets.length * dim buffer.
   * A non-live offset gives NOT_FOUND. One small read per offset (query by item, a few search
   * hits); to load a whole modality use vectors().
   */
  vectorsAt(offsets: ArrayLike<number>): Float32Array {
    return this.read(() => {
      const dim = this.model()?.dim ?? 0;
      const out = new Float32Array(offsets.length * dim);
      if (offsets.length === 0) return out;
      const live = new Set<number>();
      for (const row of this.st.byOffsets.iterate(JSON.stringify(Array.from(offsets)))) live.add(row[0]);
      for (let i = 0; i < offsets.length; i++) {
        if (!live.has(offsets[i])) {
          throw new ClipdbError("NOT_FOUND", { what: "item", id: `@${offsets[i]}`, hint: `Offset ${offsets[i]} is not live (removed, or never assigned).` });
        }
      }
      let sorted = true;
      for (let i = 1; i < offsets.length && sorted; i++) sorted = offsets[i] > offsets[i - 1];
      if (sorted) this.vblocks().loadSorted(Uint32Array.from(offsets), out);
      else this.vblocks().loadAny(offsets, out);
      return out;
    });
  }

  /** Offsets of all live items of one modality (or all), ascending; only those >= `from` (default 0). */
  liveOffsets(modality?: Modality, from = 0): Uint32Array {
    return this.guard(() => Uint32Array.from(modality === undefined ? this.st.liveAll.all(from) : this.st.liveOf.all(modality, from)));
  }

  /** The offset the next added item will get (offsets below it were used, some maybe removed). */
  nextOffset(): number {
    return this.guard(() => Number(this.st.metaGet.get("next_offset")));
  }

  /**
   * Removes items, their pairs and their vectors in one transaction, and returns the removed
   * offsets in the order of `ids`. Unknown ids are skipped, unless `strict` (default false):
   * then the first unknown id gives NOT_FOUND and nothing is removed. A removed vector is
   * unreachable at once (its offset is never reused); its bytes are freed with its storage block,
   * when the block's last item goes (cheap removes instead of rewriting blocks).
   */
  remove(ids: string[], opts: { strict?: boolean } = {}): Uint32Array {
    if (ids.length === 0) return new Uint32Array(0);
    return this.write(() => {
      const removed: number[] = [];
      for (const id of ids) {
        const row = this.st.idOffsetModality.get(id);
        if (row === undefined) {
          if (opts.strict) throw new ClipdbError("NOT_FOUND", { what: "item", id, hint: "Nothing was removed." });
          continue;
        }
        const [off, modality] = row;
        this.st.deleteItem.run(off);
        removed.push(off);
        this.change.removed[modality].push(off);
      }
      if (removed.length > 0) {
        const sorted = Uint32Array.from(removed).sort();
        this.vblocks().dropDead(sorted, (lo, hi) => this.st.anyLive.get(lo, hi) === 1);
      }
      return Uint32Array.from(removed);
    }, (r) => r.length > 0);
  }

  /**
   * Keyword search over text items (FTS5, see fts.ts): up to `limit` text offsets matching any
   * word or "quoted phrase" of `query`, best BM25 first, with their BM25 scores negated (higher
   * is better). A query without words matches nothing.
   */
  keywordSearch(query: string, limit: number): { offsets: Uint32Array; scores: Float64Array } {
    const match = sqliteMatch(query);
    if (match === null || limit < 1) return { offsets: new Uint32Array(0), scores: new Float64Array(0) };
    return this.guard(() => {
      const rows = this.st.keyword.all(match, limit);
      return { offsets: Uint32Array.from(rows, (r) => r[0]), scores: Float64Array.from(rows, (r) => -r[1]) };
    });
  }

  /** Ids paired with this one (captions of an image, or the images of a caption), by offset; [] if none. */
  pairedIds(id: string): string[] {
    return this.guard(() => this.st.paired.all(id, id));
  }

  /** Paired ids (by offset) and an image's first caption text, for many items in one query. */
  pairsOfMany(ids: readonly string[]): Map<string, { pairs: string[]; caption: string | null }> {
    return this.guard(() => {
      const out = new Map<string, { pairs: string[]; caption: string | null }>();
      if (ids.length === 0) return out;
      const json = JSON.stringify(ids);
      const rows = this.st.pairsOfMany.all(json, json);
      for (const r of rows) {
        let e = out.get(r.id);
        if (!e) out.set(r.id, (e = { pairs: [], caption: r.image ? r.text : null }));
        e.pairs.push(r.other);
      }
      return out;
    });
  }

  /** Ground truth for evaluation: every pair as (image offset, text offset), sorted by image then text. */
  pairs(): { image: Uint32Array; text: Uint32Array } {
    return this.guard(() => {
      const rows = this.st.allPairs.all();
      const image = new Uint32Array(rows.length);
      const text = new Uint32Array(rows.length);
      rows.forEach(([a, b], i) => {
        image[i] = a;
        text[i] = b;
      });
      return { image, text };
    });
  }

  /** Live items by modality, and pairs. */
  counts(): { images: number; texts: number; pairs: number } {
    return this.read(() => {
      const c = { images: 0, texts: 0, pairs: this.st.countPairs.get() ?? 0 };
      for (const [m, n] of this.st.countByModality.all()) {
        if (m === "image") c.images = n;
        else c.texts = n;
      }
      return c;
    });
  }

  /**
   * Items that have a source, sorted by source: all, or those whose source starts with `prefix`
   * (for example a folder, to find files that were deleted: --prune).
   */
  sources(prefix?: string): { id: string; source: string; hash: string | null }[] {
    return this.guard(() => this.st.sources.all({ prefix: prefix ?? null }));
  }

  /** A small setting, parsed from JSON, or undefined. */
  getSetting<T>(key: string): T | undefined {
    return this.guard(() => {
      const v = this.st.settingGet.get(key);
      return v === undefined ? undefined : (JSON.parse(v) as T);
    });
  }

  /**
   * Stores a JSON-serialisable setting (undefined deletes it). Settings do not bump generation(),
   * so recording an index's state here does not make that index look stale.
   */
  setSetting(key: string, value: unknown): void {
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (e) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: key, reason: `the setting is not JSON-serialisable (${(e as Error).message})` }, { cause: e });
    }
    this.write(() => {
      if (json === undefined) this.st.settingDel.run(key);
      else this.st.settingPut.run(key, json);
    }, false);
  }

  /**
   * Change counter: bumped by every transaction that changes items, vectors, pairs or the model
   * (not by setSetting). An index file stamped with the generation it was built at is stale
   * when the store's generation differs.
   */
  generation(): number {
    return this.guard(() => Number(this.st.metaGet.get("generation")));
  }

  /**
   * The generation of this Store's latest write (-1 before the first): every write that bumps
   * `generation()` gets its own, in commit order, and records what it changed (see changesSince).
   */
  get lastGeneration(): number {
    return this.committed;
  }

  /**
   * What every commit after generation `from` did, read in one snapshot: the offsets added (still
   * live, by modality) and removed, and the generation that brings a reader to. Null when the log
   * no longer reaches back to `from` (older than CHANGE_LOG_KEEP generations, a database from
   * before the log, or `from` ahead of the store): the reader must then reconcile in full.
   * Cost: one row per generation, plus the items table rows of the added range.
   */
  changesSince(from: number): StoreChanges | null {
    return this.read(() => {
      const to = this.generation();
      const none = new Uint32Array(0);
      if (from === to) return { to, added: { image: none, text: none }, removed: { image: none, text: none } };
      if (from > to || from < 0) return null;
      const rows = this.st.changesFrom.all(from);
      if (rows.length !== to - from || rows[0][0] !== from + 1) return null;
      const added = { image: [] as number[], text: [] as number[] };
      const removed = { image: [] as number[], text: [] as number[] };
      for (const [, lo, hi, rmImage, rmText] of rows) {
        if (hi > lo) for (const [o, m] of this.st.liveIn.iterate(lo, hi)) added[m].push(o);
        for (const o of u32Of(rmImage)) removed.image.push(o);
        for (const o of u32Of(rmText)) removed.text.push(o);
      }
      return {
        to,
        added: { image: Uint32Array.from(added.image), text: Uint32Array.from(added.text) },
        removed: { image: Uint32Array.from(removed.image), text: Uint32Array.from(removed.text) },
      };
    });
  }

  /**
   * How many items (of `modality`, or of both) the commits after generation `from` added or
   * removed; Infinity when the log does not reach back that far. Cheap: one aggregate over the
   * log rows since `from`.
   */
  changedSince(from: number, modality?: Modality): number {
    return this.read(() => {
      const to = this.generation();
      if (from === to) return 0;
      if (from > to || from < 0) return Infinity;
      const [n, min, image, text] = this.st.changeCount.get(from)!;
      if (n !== to - from || min !== from + 1) return Infinity;
      return modality === "image" ? (image ?? 0) : modality === "text" ? (text ?? 0) : (image ?? 0) + (text ?? 0);
    });
  }

  /** Bytes stored under `key` (uploaded images, thumbnails), or undefined. */
  getBlob(key: string): Buffer | undefined {
    return this.guard(() => this.st.blobGet.get(key));
  }

  /** Stores bytes under `key`, replacing any; does not bump generation(). */
  putBlob(key: string, data: Buffer): void {
    this.write(() => void this.st.blobPut.run(key, data), false);
  }

  /**
   * Begins a write transaction that stays open across awaits, for the async adapter (see
   * SqliteCollectionStore): every Store call until `endTransaction` joins it (as savepoints).
   * `mode` "write" takes the write lock at once (BEGIN IMMEDIATE); "read" is a snapshot.
   */
  beginTransaction(mode: "read" | "write"): void {
    this.assertOpen();
    if (mode === "write" && this.readonly) this.write(() => undefined, false); // the read-only error
    this.guard(() => this.db.exec(mode === "write" ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED"));
  }

  /** Commits (or, with `ok` false, rolls back) the transaction of `beginTransaction`. */
  endTransaction(ok: boolean): void {
    if (!this.db.inTransaction) return;
    this.guard(() => this.db.exec(ok ? "COMMIT" : "ROLLBACK"));
  }

  /**
   * Runs `fn` (synchronous) in one consistent read snapshot: every read inside sees the same
   * committed state, while other processes keep writing. Nested in a transaction: a savepoint.
   */
  snapshot<T>(fn: () => T): T {
    return this.read(fn);
  }

  /** A setting's raw JSON text, or undefined (cheap change detection). */
  getSettingRaw(key: string): string | undefined {
    return this.guard(() => this.st.settingGet.get(key));
  }

  /**
   * Runs `fn` in one transaction (all or nothing; must be synchronous). Read-write: an immediate
   * write transaction, so nested Store writes join it. Read-only: a consistent snapshot.
   * Nested calls become savepoints.
   */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    return this.guard(() => {
      const tx = this.db.transaction(fn);
      return this.readonly ? tx.deferred() : tx.immediate();
    });
  }

  /** Size on disk of the database and its write-ahead log, in bytes. */
  bytes(): number {
    let total = 0;
    for (const f of [this.file, `${this.file}-wal`]) total += fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0;
    return total;
  }

  /**
   * Full consistency check (reads the whole file): SQLite integrity_check and foreign_key_check,
   * every live item has its vector, no vector block without a live item, offsets below next_offset.
   * Damage that stops the check itself is reported as a problem, not thrown.
   */
  verify(): VerifyReport {
    try {
      return this.read(() => verifyStore(this.db, { dim: this.model()?.dim, blockSize: this.blockSize, nextOffset: this.nextOffset() }));
    } catch (e) {
      if (e instanceof ClipdbError && e.code === "STORE_CORRUPT") return { ok: false, problems: [e.message] };
      throw e;
    }
  }

  /** Closes the database (idempotent). A read-write store checkpoints its log when it is the last connection. */
  close(): void {
    if (!this.db.open) return;
    try {
      if (!this.readonly) this.db.pragma("optimize");
    } catch {
      // optimize is advisory; a damaged file must still close.
    }
    this.db.close();
  }

  // ---- internals ----

  private insertPairs(pairs: Pair[]): void {
    for (const p of pairs) {
      const mi = this.st.modalityOf.get(p.imageId);
      if (mi === undefined) throw new ClipdbError("NOT_FOUND", { what: "item", id: p.imageId, hint: "Add the image before pairing it; nothing was written." });
      const mt = this.st.modalityOf.get(p.textId);
      if (mt === undefined) throw new ClipdbError("NOT_FOUND", { what: "item", id: p.textId, hint: "Add the text before pairing it; nothing was written." });
      if (mi !== "image" || mt !== "text") {
        throw new ClipdbError("INVALID_ARGUMENT", {
          name: "pairs",
          reason: `a pair links an image to a text, but '${p.imageId}' is ${mi === "image" ? "an image" : "a text"} and '${p.textId}' is ${mt === "image" ? "an image" : "a text"}`,
        });
      }
      this.st.insertPair.run(p.imageId, p.textId);
    }
  }

  /** The cached offsetsWhere statement for a condition's SQL, with or without a modality. */
  private whereStatement(cond: string, withModality: boolean): Database.Statement<unknown[], number> {
    const shape = `${cond}:${withModality}`;
    let stmt = this.whereCache.get(shape);
    if (stmt === undefined) {
      stmt = this.db.prepare<unknown[], number>(`SELECT offset FROM items WHERE ${cond}${withModality ? " AND modality = ?" : ""} ORDER BY offset`).pluck();
      if (this.whereCache.size > 256) this.whereCache.clear();
      this.whereCache.set(shape, stmt);
    }
    return stmt;
  }

  private vblocks(): VectorBlocks {
    if (this.blocks === undefined) {
      const model = this.model();
      if (model === null) throw new ClipdbError("INTERNAL", { reason: "vectors accessed before the model was set" });
      this.blocks = new VectorBlocks(this.db, model.dim, this.blockSize, this.file, (o) => this.st.byOffset.get(o)?.[1]);
    }
    return this.blocks;
  }

  private checkMeta(): void {
    for (const key of ["next_offset", "generation", "block_size"]) {
      const v = this.st.metaGet.get(key);
      if (v === undefined || !Number.isInteger(Number(v))) {
        throw new ClipdbError("STORE_CORRUPT", { path: this.file, reason: `its meta table lacks a valid '${key}'`, hint: "Restore it from a backup." });
      }
    }
    if (!(this.blockSize >= 1)) throw new ClipdbError("STORE_CORRUPT", { path: this.file, reason: "its block size is invalid", hint: "Restore it from a backup." });
  }

  private assertOpen(): void {
    if (!this.db.open) throw new ClipdbError("INVALID_ARGUMENT", { name: "store", reason: "the store is closed", hint: "Open it again with Store.open." });
  }

  private guard<T>(fn: () => T): T {
    this.assertOpen();
    try {
      return fn();
    } catch (e) {
      throw translateSqliteError(e, this.file);
    }
  }

  /** A read in one snapshot (a savepoint when already inside a transaction). */
  private read<T>(fn: () => T): T {
    return this.guard(() => this.db.transaction(fn).deferred());
  }

  /** A write transaction; bumps the generation unless `bump` is (or returns) false. */
  private write<T>(fn: () => T, bump: boolean | ((result: T) => boolean) = true): T {
    this.assertOpen();
    if (this.readonly) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "store", reason: "this collection was opened read-only", hint: "Open it without readonly to write." });
    }
    return this.guard(() =>
      this.db
        .transaction(() => {
          const saved = this.change;
          this.change = emptyChange();
          try {
            const r = fn();
            if (typeof bump === "function" ? bump(r) : bump) {
              this.st.bump.run();
              const gen = Number(this.st.metaGet.get("generation"));
              const { lo, hi, added, removed } = this.change;
              this.st.insertChange.run(gen, lo, hi, added.image, added.text, u32Blob(removed.image), u32Blob(removed.text));
              if (gen % 1024 === 0) this.st.pruneChanges.run(gen - CHANGE_LOG_KEEP);
              this.committed = gen;
            }
            return r;
          } finally {
            this.change = saved;
          }
        })
        .immediate(),
    );
  }
}

