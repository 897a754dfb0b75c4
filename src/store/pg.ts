import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import { ClipdbError } from "../core/errors.js";
import type { Modality } from "../core/types.js";
import type { CollectionStore, ItemPairs, StoreReader, StoreWriter } from "./api.js";
import { PgOps, type PgTx } from "./pg-ops.js";
import { type PgNames, ensureSchema, ensureVectorExtension, pgNames } from "./pg-schema.js";
import { type PgTarget, fromDriver, isDriverError, parsePgUrl, scrub, unavailableError } from "./pg-url.js";
import type { StoreChanges } from "./store.js";
import type { ItemRecord, NewItem, Pair } from "./types.js";
import { type PgIndexInfo, type PgIndexType, type PgSearchOptions, buildVectorIndex, dropVectorIndex, relationBytes, searchVectors, vectorIndexes } from "./pg-search.js";
import type { WhereFilter } from "./where.js";
import { type PgSnapshot, readSnapshot } from "./pg-snapshot.js";

/** Options of `PgCollectionStore.open`. */
export interface PgStoreOptions {
  /**
   * Connections in the pool; default 10 (a real server serves many at once). Size it to 1
   * against PGlite (`npm run pg`, the tests), whose socket server runs one query at a time on one
   * backend: more connections only queue there. Each `read`/`transaction` holds one connection
   * for its duration, so this also caps how many run at once.
   */
  poolSize?: number;
  /**
   * The SQL schema the collection lives in; default the URL's `?schema=` parameter, else
   * "clipdb". One database can hold several collections, one per schema.
   */
  schema?: string;
  /** Create the schema and tables when missing; default true. False gives NOT_FOUND instead. */
  create?: boolean;
  /**
   * Run `CREATE EXTENSION vector` when pgvector is installed on the server but not created in
   * the database; default true (needs the CREATE privilege; otherwise the error says what to run).
   */
  createExtension?: boolean;
  /**
   * How long opening one connection may take, in ms; default 10000. Past it: STORE_UNAVAILABLE.
   * (Waiting for a free pooled connection has no limit: calls queue behind running ones.)
   */
  connectTimeoutMs?: number;
}

/**
 * The collection store on Postgres + pgvector, over a `pg.Pool` and the real wire protocol.
 *
 * Every call is one transaction on one pooled connection: reads are REPEATABLE READ READ ONLY
 * snapshots (so a call that reads several tables sees one state), writes lock the collection's
 * meta row first (SELECT ... FOR UPDATE), so writers of every process are serialised and
 * generations and offsets are assigned in commit order. Cost: two extra round trips per call
 * (BEGIN, COMMIT; a get() took 0.7 ms on PGlite over loopback), so batch writes (hundreds of
 * items per addItems: 5,000 x 512 went in at about 9,600 items/s there, in batches of 500).
 * Vectors go in as one binary vector[] parameter per batch and come back as vector_send bytes
 * (float32 bits, exact both ways; no decimal text).
 *
 * Errors: STORE_UNAVAILABLE when the server cannot be reached or used (naming host, port and
 * the fix; never the password), the store's codes otherwise. `location` has the password replaced
 * by ***. Differences from SQLite: meta is jsonb (its key order is Postgres's), strings may not
 * contain NUL characters (INVALID_ARGUMENT), dim is at most 16000.
 */
export class PgCollectionStore implements CollectionStore {
  readonly kind = "postgres" as const;
  readonly location: string;
  private closed = false;
  private last = -1;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly target: PgTarget,
    private readonly names: PgNames,
  ) {
    this.location = target.location;
  }

  /**
   * Opens (by default creating) the collection at `url` (`postgres://user:password@host:port/db`,
   * optionally `?schema=name`): connects, finds or creates the pgvector extension, and creates
   * or checks the collection's tables. STORE_UNAVAILABLE when the server cannot be reached, refuses
   * the login, or lacks pgvector (the message says `CREATE EXTENSION vector`); STORE_CORRUPT for a
   * schema that holds something else or was written by a newer clipdb.
   */
  static async open(url: string, opts: PgStoreOptions = {}): Promise<PgCollectionStore> {
    const target = parsePgUrl(url, opts.schema);
    const poolSize = opts.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "poolSize", reason: `${poolSize} is not a positive integer` });
    const connectTimeout = opts.connectTimeoutMs ?? 10_000;
    // The connect timeout bounds each new connection (a Client option), not the wait for a pooled
    // one: a call waits its turn behind a long transaction as it would on SQLite.
    class TimedClient extends pg.Client {
      constructor(config: pg.ClientConfig = {}) {
        super({ ...config, connectionTimeoutMillis: connectTimeout });
      }
    }
    const pool = new pg.Pool({ connectionString: target.connectionString, max: poolSize, idleTimeoutMillis: 30_000, application_name: "clipdb", Client: TimedClient });
    // An idle connection the server closed: the pool drops it and connects anew on next use.
    pool.on("error", () => undefined);
    try {
      const client = await pool.connect();
      const onError = (): void => undefined; // as in run(): the failing query reports it
      client.on("error", onError);
      try {
        const ext = await ensureVectorExtension(client, target, opts.createExtension ?? true);
        const names = pgNames(target.schema, ext.schema, ext.oid);
        await ensureSchema(client, names, target, opts.create ?? true);
        client.removeListener("error", onError);
        client.release();
        return new PgCollectionStore(pool, target, names);
      } catch (e) {
        client.removeListener("error", onError);
        client.release(true);
        throw e;
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw toStoreError(e, target, true);
    }
  }

  get lastGeneration(): number {
    return this.last;
  }

  read<T>(fn: (r: StoreReader) => Promise<T>): Promise<T> {
    return this.run("read", true, fn);
  }

  transaction<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    return this.run("write", true, fn);
  }

  /**
   * Runs `fn` in one transaction on one pooled connection: "read" a REPEATABLE READ READ ONLY
   * snapshot, "write" a transaction that first locks the meta row. Rolls back when fn throws.
   * Every statement inside a transaction block is also what keeps PGlite's socket server safe
   * with several connections: it interleaves connections only between transaction blocks.
   */
  /**
   * Runs `fn` on a pooled connection: "write" and "read" inside a transaction (a write holds the
   * meta-row lock; a read is REPEATABLE READ READ ONLY, one snapshot for all its statements), "one"
   * without one, for reads of a single statement, which Postgres runs on a snapshot of its own: one
   * round trip instead of three (BEGIN, the statement, COMMIT).
   */
  private async run<T>(mode: "read" | "write" | "one", nested: boolean, fn: (ops: PgOps, client: pg.PoolClient) => Promise<T>): Promise<T> {
    if (this.closed) throw new ClipdbError("INVALID_ARGUMENT", { name: "store", reason: "the store is closed", hint: "Open it again with PgCollectionStore.open." });
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      throw toStoreError(e, this.target, true);
    }
    // A connection that dies while checked out emits 'error' besides failing its query: keep it
    // from crashing the process (the failing query reports it).
    const onError = (): void => undefined;
    client.on("error", onError);
    if (mode === "write") this.markStale();
    const tx: PgTx = { names: this.names, mode: mode === "write" ? "write" : "read", nested, gens: [] };
    const sql = async (text: string): Promise<void> => {
      try {
        await client.query(text);
      } catch (e) {
        throw fromDriver(e);
      }
    };
    let broken = false;
    try {
      if (mode === "one") return await fn(new PgOps(client, tx), client);
      await sql(mode === "read" ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN");
      if (mode === "write") await sql(`SELECT 1 FROM ${this.names.meta} WHERE id = 1 FOR UPDATE`);
      const out = await fn(new PgOps(client, tx), client);
      await sql("COMMIT");
      if (tx.gens.length > 0) this.last = tx.gens[tx.gens.length - 1];
      return out;
    } catch (e) {
      const err = toStoreError(e, this.target, isDriverError(e));
      broken = err instanceof ClipdbError && err.code === "STORE_UNAVAILABLE";
      if (!broken) await client.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      client.removeListener("error", onError);
      client.release(broken);
    }
  }

  /**
   * Search pushdown (see pg-search.ts): top-k by inner product over one modality, answered by
   * Postgres: exact, or through that modality's pgvector HNSW or IVFFlat index.
   */
  searchVectors(query: Float32Array, k: number, opts: PgSearchOptions): Promise<{ offsets: Uint32Array; scores: Float32Array }> {
    // Exact is one SELECT; an ANN search opens its own transaction for its SET LOCALs (pg-search.ts).
    return this.run("one", false, (_o, c) => searchVectors(c, this.names, query, k, opts));
  }

  /** Builds (or rebuilds) the pgvector index of `type` over `modality`; returns its spec. */
  buildVectorIndex(type: PgIndexType, modality: Modality, params: { m?: number; efConstruction?: number; lists?: number }): Promise<string> {
    return this.run("write", false, (_o, c) => buildVectorIndex(c, this.names, type, modality, params));
  }

  /** Drops the pgvector indexes of `type`. */
  dropVectorIndex(type: PgIndexType): Promise<void> {
    return this.run("write", false, (_o, c) => dropVectorIndex(c, this.names, type));
  }

  /** The collection's pgvector indexes. */
  vectorIndexes(): Promise<PgIndexInfo[]> {
    const s = this.snapped();
    if (s) return Promise.resolve(s.indexes.map((i) => ({ ...i })));
    return this.run("one", false, (_o, c) => vectorIndexes(c, this.names));
  }

  /** Bytes the collection's tables and indexes take on the server. */
  bytes(): Promise<number> {
    return this.run("read", false, (_o, c) => relationBytes(c, this.names));
  }

  private reading<T>(fn: (ops: PgOps) => Promise<T>): Promise<T> {
    return this.run("read", false, fn);
  }

  private readonly snap = new AsyncLocalStorage<PgSnapshot>();

  /**
   * Runs `fn` (one search) with a snapshot of the state searches read (see pg-snapshot.ts), read
   * in one statement: within it `model`, `counts`, `generation`, `vectorIndexes` and the small
   * settings are answered from the snapshot, not the server. A write through this store during
   * `fn` ends that (its later reads go to the server). Nested calls share the outer snapshot.
   */
  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.snap.getStore()) return fn();
    const s = await this.run("one", false, (_o, c) => readSnapshot(c, this.names));
    return this.snap.run(s, fn);
  }

  /** The current search's snapshot, if one is open and no write has been made during it. */
  private snapped(): PgSnapshot | undefined {
    const s = this.snap.getStore();
    return s && !s.stale ? s : undefined;
  }

  private markStale(): void {
    const s = this.snap.getStore();
    if (s) s.stale = true;
  }

  /** A read of one statement: no transaction around it (see `run`). */
  private statement<T>(fn: (ops: PgOps) => Promise<T>): Promise<T> {
    return this.run("one", false, fn);
  }

  private writing<T>(fn: (ops: PgOps) => Promise<T>): Promise<T> {
    return this.run("write", false, fn);
  }

  model(): Promise<{ modelId: string; dim: number } | null> {
    const s = this.snapped();
    if (s) return Promise.resolve(s.model);
    return this.statement((o) => o.model());
  }
  get(id: string): Promise<ItemRecord | undefined> {
    return this.statement((o) => o.get(id));
  }
  getManyByOffsets(offsets: ArrayLike<number>): Promise<ItemRecord[]> {
    return this.statement((o) => o.getManyByOffsets(offsets));
  }
  findByHash(hash: string): Promise<ItemRecord[]> {
    return this.reading((o) => o.findByHash(hash));
  }
  vectors(modality?: Modality, from?: number): Promise<{ offsets: Uint32Array; xs: Float32Array }> {
    return this.reading((o) => o.vectors(modality, from));
  }
  vector(offset: number): Promise<Float32Array | undefined> {
    return this.reading((o) => o.vector(offset));
  }
  vectorsAt(offsets: ArrayLike<number>): Promise<Float32Array> {
    return this.reading((o) => o.vectorsAt(offsets));
  }
  liveOffsets(modality?: Modality, from?: number): Promise<Uint32Array> {
    return this.reading((o) => o.liveOffsets(modality, from));
  }
  offsetsWhere(where: WhereFilter, modality?: Modality): Promise<Uint32Array> {
    return this.reading((o) => o.offsetsWhere(where, modality));
  }
  pairedIds(id: string): Promise<string[]> {
    return this.reading((o) => o.pairedIds(id));
  }
  pairsOfMany(ids: readonly string[]): Promise<Map<string, ItemPairs>> {
    return this.reading((o) => o.pairsOfMany(ids));
  }
  keywordSearch(query: string, limit: number): Promise<{ offsets: Uint32Array; scores: Float64Array }> {
    return this.reading((o) => o.keywordSearch(query, limit));
  }
  pairs(): Promise<{ image: Uint32Array; text: Uint32Array }> {
    return this.reading((o) => o.pairs());
  }
  counts(): Promise<{ images: number; texts: number; pairs: number }> {
    const s = this.snapped();
    if (s) return Promise.resolve({ ...s.counts });
    return this.statement((o) => o.counts());
  }
  sources(prefix?: string): Promise<{ id: string; source: string; hash: string | null }[]> {
    return this.reading((o) => o.sources(prefix));
  }
  getSetting<T>(key: string): Promise<T | undefined> {
    const raw = this.snapped()?.settings.get(key);
    if (raw !== undefined && raw !== null) return Promise.resolve(JSON.parse(raw) as T);
    if (raw === undefined && this.snapped()) return Promise.resolve(undefined);
    return this.statement((o) => o.getSetting<T>(key));
  }
  getSettingRaw(key: string): Promise<string | undefined> {
    const raw = this.snapped()?.settings.get(key);
    if (raw !== undefined && raw !== null) return Promise.resolve(raw);
    if (raw === undefined && this.snapped()) return Promise.resolve(undefined);
    return this.statement((o) => o.getSettingRaw(key));
  }
  generation(): Promise<number> {
    const s = this.snapped();
    if (s) return Promise.resolve(s.generation);
    return this.statement((o) => o.generation());
  }
  changesSince(from: number): Promise<StoreChanges | null> {
    return this.reading((o) => o.changesSince(from));
  }
  changedSince(from: number, modality?: Modality): Promise<number> {
    return this.reading((o) => o.changedSince(from, modality));
  }
  getBlob(key: string): Promise<Buffer | undefined> {
    return this.reading((o) => o.getBlob(key));
  }
  setModel(modelId: string, dim: number): Promise<void> {
    return this.writing((o) => o.setModel(modelId, dim));
  }
  addItems(items: NewItem[], vectors: Float32Array, pairs?: Pair[]): Promise<ItemRecord[]> {
    return this.writing((o) => o.addItems(items, vectors, pairs));
  }
  addPairs(pairs: Pair[]): Promise<void> {
    return this.writing((o) => o.addPairs(pairs));
  }
  remove(ids: string[], opts?: { strict?: boolean }): Promise<Uint32Array> {
    return this.writing((o) => o.remove(ids, opts));
  }
  setSetting(key: string, value: unknown): Promise<void> {
    return this.writing((o) => o.setSetting(key, value));
  }
  putBlob(key: string, data: Buffer): Promise<void> {
    return this.writing((o) => o.putBlob(key, data));
  }

  /** Closes the pool after the calls in flight finish (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * The error to throw for `e`: unchanged unless it came from the driver (`driver`: ClipdbErrors
 * and errors thrown by a transaction's own fn pass through); then STORE_UNAVAILABLE for
 * connection failures and INTERNAL (with the SQLSTATE) for the rest. Never holds the password.
 */
function toStoreError(e: unknown, t: PgTarget, driver: boolean): unknown {
  if (e instanceof ClipdbError || !driver) return e;
  const unavailable = unavailableError(e, t);
  if (unavailable !== undefined) return unavailable;
  const code = String((e as { code?: unknown })?.code ?? "");
  const msg = scrub(e instanceof Error ? e.message : String(e), t.secrets);
  return new ClipdbError("INTERNAL", { reason: `Postgres at ${t.host}:${t.port} failed${code ? ` (${code})` : ""}: ${msg}` }, { cause: new Error(msg) });
}
