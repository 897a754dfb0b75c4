import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { readFile, writeFile, rename, mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { ClipdbError } from "../core/errors.js";
import { tempPathFor } from "../index/index.js";
import { testPoint } from "../core/testpoint.js";
import type { Modality } from "../core/types.js";
import { DEFAULT_MODEL, loadEmbedder, perceptualHash, thumbnailJpeg, type Embedder } from "../embed/index.js";
import { PgCollectionStore, SqliteCollectionStore, isEmptyWhere, isPgUrl, type CollectionStore } from "../store/index.js";
import { DEFAULT_EVAL, annKinds, checkSort, evaluate, groundTruth, indexChoices, missingKeysHint, parseCombined, parseMinRelevance, requireKind, runPlan, sortHits, toWhereFilter, tuneSettingAsync, type EvalConfig, type EvalReport, type IndexChoice, type KindStore, type ModalityIndexes } from "../query/index.js";
import { IndexSet, type BuildOptions, type IndexSetOptions } from "./indexes.js";
import { withTransient } from "./index-build.js";
import { kindsOf } from "./kinds.js";
import { HYBRID_DEPTH, checkMode, rankByKeywords, type RankedHit } from "./hybrid.js";
import { addImages, addTexts, folderUploads, withOwnCaptions, type UploadSink } from "./ingest.js";
import { PgIndexes } from "./pg-indexes.js";
import { queryVector } from "./query-vector.js";
import { RelevanceCalibrator, type Calibration } from "./relevance.js";
import { importVectors, type VectorImport } from "./import.js";
import { AdapterCache, adaptCollection, adaptQuery, directionOf, dropAdapters, evalAdapters, type AdaptedEval, type AdaptRunOptions } from "./adapt.js";
import { contentHash, sniffImage } from "./files.js";
import { PHASH_KEY } from "./capture.js";
import { duplicatesOfHash, findDuplicates, type DupeMatch, type DupeOptions, type DupeReport } from "./dupes.js";
import type {
  AddOptions, AddSummary, CollectionApi, CollectionStats, ImageBytes, ImageInput, IndexStatus, ItemView, ModelState,
  QueryInput, SearchHit, SearchParams, SearchResult, TextInput, TuneResult,
} from "./types.js";

/** The model used when neither the caller nor the collection names one. */
export { DEFAULT_MODEL };

/** Options of Collection.open. */
export interface OpenOptions {
  /** Model id or local folder. Default: the collection's recorded model, else DEFAULT_MODEL. */
  model?: string;
  /** An embedder to use instead of loading one (tests, custom models). */
  embedder?: Embedder;
  /** Never touch the network when loading the model; default false (or CLIPDB_OFFLINE=1). */
  offline?: boolean;
  /** Model cache folder; default CLIPDB_CACHE or the user's cache folder. */
  cacheDir?: string;
  /** Inference threads; default: onnxruntime's choice. */
  threads?: number;
  /** Where the model runs: auto, cpu or cuda; default `$CLIPDB_DEVICE`, else cpu (see LoadEmbedderOptions.device). */
  device?: "auto" | "cpu" | "cuda";
  /** Model weights: fp32 (default), fp16 or q8, from the model folder's ONNX files (see LoadEmbedderOptions.dtype). */
  dtype?: "fp32" | "fp16" | "q8";
  /** Image preprocessing: exact (default), sharp (same tensor, slower) or shrink (JPEG shrink-on-load); see LoadEmbedderOptions.preprocess. */
  preprocess?: "exact" | "sharp" | "shrink";
  /** Images or texts per inference run; default 16 on the CPU, 64 on CUDA. */
  inferBatch?: number;
  /** One-line notes from loading the model (a device fallback); default: none. */
  onNote?: (message: string) => void;
  /** Create the collection when the folder holds none; default true. */
  create?: boolean;
  /** When index deltas are folded into their files (see COMPACT_MIN); defaults suit most uses. */
  compaction?: IndexSetOptions;
  /** Download progress of the model, when it is fetched. */
  onModelProgress?: (p: { file: string; loaded: number; total: number; status: string }) => void;
}

const DB_FILE = "clipdb.sqlite";

/**
 * One open collection: the SQLite store, the indexes, and the embedder, composed.
 * Example: `const col = await Collection.open("./my.clipdb"); await col.search({ text: "a dog" }, { k: 10 })`.
 * The model is loaded lazily, on the first ingest or text/image query, so opening is cheap.
 */
export class Collection implements CollectionApi {
  private embedderP?: Promise<Embedder>;
  private closed = false;
  private readonly adapters = new AdapterCache();
  /** What this handle created at open (a new database, or its folder too), removed at close if nothing was stored. */
  private createdHere?: "database" | "folder";

  private constructor(
    readonly dir: string,
    private readonly store: CollectionStore,
    private readonly indexes: IndexSet | PgIndexes,
    private readonly opts: OpenOptions,
  ) {
    if (opts.embedder) {
      this.embedderP = Promise.resolve(opts.embedder);
      this.modelStatus = { state: "ready" };
    }
    this.relevance = new RelevanceCalibrator(store, async () => {
      const e = await this.embedder().catch(() => null);
      return e && ((texts: string[]) => e.embedTexts(texts));
    });
  }

  /** Relevance calibration of this collection (see src/collection/relevance.ts). */
  private readonly relevance: RelevanceCalibrator;

  /**
   * Refits the relevance calibration now (it is refitted by itself at the first search after the
   * collection changed by RECALIBRATE_FRACTION) and returns it. INVALID_ARGUMENT while empty.
   */
  async calibrate(): Promise<Calibration> {
    const dim = (await this.refreshModel())?.dim;
    if (!dim) throw new ClipdbError("INVALID_ARGUMENT", { name: "collection", reason: "it is empty", hint: "Add items first." });
    return this.relevance.refit(dim);
  }

  /**
   * Opens (or creates) the collection in `dir`. NOT_FOUND when create is false and there is none.
   * A folder whose database file is missing or empty while index files remain is STORE_CORRUPT
   * (never silently a new, empty collection). Temporary files of killed index saves are removed.
   */
  static async open(dir: string, opts: OpenOptions = {}): Promise<Collection> {
    if (isPgUrl(dir)) {
      const poolSize = Number(process.env.CLIPDB_PG_POOL ?? 10);
      const store = await PgCollectionStore.open(dir, { poolSize, create: opts.create !== false });
      return Collection.ready(new Collection(store.location, store, new PgIndexes(store), opts), store, opts);
    }
    const abs = resolve(dir);
    const db = join(abs, DB_FILE);
    const dbSize = statSync(db, { throwIfNoEntry: false })?.size;
    if (!dbSize && existsSync(join(abs, "indexes")) && readdirSync(join(abs, "indexes")).some((f) => f.endsWith(".idx"))) {
      throw new ClipdbError("STORE_CORRUPT", {
        path: db,
        reason: dbSize === undefined ? "its database file is missing, but index files remain" : "its database file is empty, but index files remain",
        hint: "Restore clipdb.sqlite from a backup; to start over, delete the folder.",
      });
    }
    if (opts.create === false && dbSize === undefined) {
      throw new ClipdbError("NOT_FOUND", { what: "collection", at: abs, hint: "Create one with 'clipdb add <files>', or pass --db <dir> (or a postgres:// URL)." });
    }
    const folderExisted = existsSync(abs);
    mkdirSync(abs, { recursive: true });
    const store = await SqliteCollectionStore.open(abs);
    const indexes = new IndexSet(store, abs, opts.compaction);
    const col = new Collection(abs, store, indexes, opts);
    col.createdHere = dbSize === undefined ? (folderExisted ? "database" : "folder") : undefined;
    return Collection.ready(col, store, opts);
  }

  /** Checks the model asked for against the recorded one, reads the model, and tidies the index folder. */
  private static async ready(col: Collection, store: CollectionStore, opts: OpenOptions): Promise<Collection> {
    const recorded = await store.model();
    const wanted = opts.embedder?.modelId ?? (opts.model && modelRef(opts.model));
    if (recorded && wanted && recorded.modelId !== wanted && (await store.getSetting("model_source")) !== "imported") {
      await store.close();
      throw new ClipdbError("MODEL_MISMATCH", { expected: recorded.modelId, got: wanted });
    }
    col.model = recorded;
    col.imported = (await store.getSetting("model_source")) === "imported";
    await col.indexes.clean();
    return col;
  }

  /** The collection's model and its source, as last read from the store (refreshed by every search, write and stats). */
  private model: { modelId: string; dim: number } | null = null;
  private imported = false;

  private async refreshModel(): Promise<{ modelId: string; dim: number } | null> {
    const had = this.model;
    this.model = await this.store.model();
    // The model's source is written with the model and never changes: read it once, when the model appears.
    if (this.model && !had) this.imported = (await this.store.getSetting("model_source")) === "imported";
    return this.model;
  }

  /** The collection's model id (null while empty), as of the last search, write or stats. */
  get modelId(): string | null {
    return this.model?.modelId ?? null;
  }

  /** The collection's vector dimension (null while empty), as of the last search, write or stats. */
  get dim(): number | null {
    return this.model?.dim ?? null;
  }

  private modelStatus: ModelState = { state: "idle" };

  /** The model's state, without loading it: idle, loading, ready, or failed with its error. */
  modelState(): ModelState {
    return this.modelStatus;
  }

  /** The embedder, loaded on first use; NO_MODEL for collections of imported vectors without --model. */
  embedder(): Promise<Embedder> {
    if (this.embedderP) return this.embedderP;
    {
      const recorded = this.model;
      if (!this.opts.model && recorded && this.imported) {
        return Promise.reject(new ClipdbError("NO_MODEL", { model: recorded.modelId, what: "text or images" }));
      }
      const ref = this.opts.model ? modelRef(this.opts.model) : recorded?.modelId ?? DEFAULT_MODEL;
      const p = loadEmbedder(ref, {
        offline: this.opts.offline,
        cacheDir: this.opts.cacheDir,
        threads: this.opts.threads,
        device: this.opts.device,
        dtype: this.opts.dtype,
        preprocess: this.opts.preprocess,
        batchSize: this.opts.inferBatch,
        onNote: this.opts.onNote,
        onProgress: this.opts.onModelProgress,
      }).then((e: Embedder) => {
        if (recorded && e.dim !== recorded.dim) throw new ClipdbError("DIM_MISMATCH", { expected: recorded.dim, got: e.dim, where: `model ${ref}` });
        return e;
      });
      this.modelStatus = { state: "loading" };
      p.then(
        () => {
          if (this.embedderP === p) this.modelStatus = { state: "ready" };
        },
        (err: unknown) => {
          if (this.embedderP !== p) return;
          this.embedderP = undefined;
          this.modelStatus = { state: "failed", error: err instanceof Error ? err : new Error(String(err)) };
        },
      );
      this.embedderP = p;
      return p;
    }
  }

  /** Adds images (and their captions); see AddOptions for batching, progress and cancellation. */
  async addImages(inputs: ImageInput[], opts: AddOptions = {}): Promise<AddSummary> {
    const sum = await addImages(this.store, () => this.embedder(), this.uploads(), inputs, opts);
    await this.afterWrite();
    return sum;
  }

  /**
   * Where uploaded images are kept: the collection folder's `files/` (SQLite), or the store's
   * blobs (Postgres, so that a collection needs no local folder: source `blob:upload/<hash><ext>`).
   */
  private uploads(): UploadSink {
    if (this.store.kind === "sqlite") return folderUploads(join(this.dir, "files"));
    return async (hash, bytes, ext) => {
      const key = `upload/${hash}${ext}`;
      if (!(await this.store.getBlob(key))) await this.store.putBlob(key, bytes);
      return `blob:${key}`;
    };
  }

  /** Adds texts. */
  async addTexts(inputs: TextInput[], opts: AddOptions = {}): Promise<AddSummary> {
    const sum = await addTexts(this.store, () => this.embedder(), inputs, opts);
    await this.afterWrite();
    return sum;
  }

  /** Imports precomputed vectors, all or nothing. */
  async addVectors(imp: VectorImport): Promise<AddSummary> {
    const sum = await importVectors(this.store, imp);
    await this.afterWrite();
    return sum;
  }

  /** Records that texts describe images (the ground truth of eval); all or nothing, NOT_FOUND for unknown ids. */
  async addPairs(pairs: { imageId: string; textId: string }[]): Promise<void> {
    await this.store.addPairs(pairs);
  }

  /** Searches; see SearchParams for defaults. Scores are true cosines, best first. */
  async search(query: QueryInput, params: SearchParams = {}): Promise<SearchResult> {
    // On Postgres the state a search reads (model, settings, counts, index list) comes in one
    // statement at its start rather than one round trip each (see src/store/pg-snapshot.ts).
    if (this.store instanceof PgCollectionStore) return this.store.snapshot(() => this.searchNow(query, params));
    return this.searchNow(query, params);
  }

  private async searchNow(query: QueryInput, params: SearchParams): Promise<SearchResult> {
    const t0 = performance.now();
    const terms = parseCombined(query);
    const minRelevance = parseMinRelevance(params.minRelevance);
    const dim = (await this.refreshModel())?.dim ?? null;
    const k = params.k ?? 10;
    const modality = params.modality ?? "any";
    if (!["image", "text", "any"].includes(modality)) throw new ClipdbError("INVALID_ARGUMENT", { name: "modality", reason: `'${modality}' is not image, text or any` });
    const index: IndexChoice = params.index ?? (await this.store.getSetting<IndexChoice>("default_index")) ?? "auto";
    if (!indexChoices().includes(index)) throw new ClipdbError("INVALID_ARGUMENT", { name: "index", reason: `'${index}' is not ${indexChoices().join(", ")}` });
    const main = terms[0]?.input;
    const keywords = params.keywords ?? (main?.kind === "text" ? main.text : undefined);
    const mode = checkMode(params.mode ?? "vector", keywords, modality);
    const skip = params.offset ?? 0;
    if (!Number.isInteger(skip) || skip < 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "offset", reason: `${skip} is not a whole number of hits to skip` });
    if (dim === null) return { results: [], ms: performance.now() - t0, index: mode === "keyword" ? "keyword" : index === "auto" ? "exact" : index, scanned: 0, mode };
    const { q: q0, exclude, modality: queryModality } = await queryVector(this.store, () => this.embedder(), terms, dim);
    const modalities: Modality[] = modality === "any" ? ["image", "text"] : [modality];
    let q = q0;
    let adapted: SearchResult["adapted"];
    if (params.adapt !== false) ({ q, adapted } = adaptQuery((await this.adapters.get(this.store)).adapters, directionOf(queryModality, modalities), q0));
    const sets = await this.indexes.forSearch(index, modalities);
    const sort = checkSort(params.sort);
    const where = params.where === undefined ? undefined : toWhereFilter(params.where);
    let candidates: Map<Modality, Uint32Array> | undefined;
    if (!isEmptyWhere(where)) {
      candidates = new Map();
      for (const m of modalities) candidates.set(m, await this.store.offsetsWhere(where!, m));
    }
    const depth = mode === "vector" ? k + skip : Math.max(k + skip, HYBRID_DEPTH);
    const plan = mode === "keyword"
      ? { hits: [], index: "keyword" as const, scanned: 0 }
      : await runPlan(sets, {
        q, k: depth, modalities, index, candidates, exclude,
        nprobe: params.nprobe ?? (await this.store.getSetting<number>("default_nprobe")),
        ef: params.ef ?? (await this.store.getSetting<number>("default_ef")),
      });
    let hits: RankedHit[] = plan.hits;
    if (mode !== "vector") {
      const opts = { mode, q, keywords: keywords!, depth, vectorHits: plan.hits, allowText: candidates?.get("text") };
      hits = await this.store.read((r) => rankByKeywords(r, opts));
    }
    hits = hits.slice(skip, skip + k);
    const byOffset = new Map((await this.store.getManyByOffsets(hits.map((h) => h.offset))).map((r) => [r.offset, r]));
    const live = hits.filter((h) => byOffset.has(h.offset));
    const relevance = await this.relevance.score(q, queryModality, live, dim);
    const results = live
      .map((h, i): SearchHit => {
        const r = byOffset.get(h.offset)!;
        const hit: SearchHit = { rank: 0, id: r.id, modality: r.modality, score: h.score, relevance: relevance[i], path: r.source, text: r.text, meta: r.meta };
        if (h.rrf !== undefined) hit.rrf = h.rrf;
        return hit;
      })
      .filter((h) => minRelevance === undefined || h.relevance >= minRelevance)
      .map((h, i) => ({ ...h, rank: skip + i + 1 }));
    const out: SearchResult = { results: sortHits(results, sort), ms: performance.now() - t0, index: plan.index, scanned: plan.scanned, mode, queryVector: q, ...(adapted ? { adapted } : {}) };
    if (results.length === 0 && where !== undefined) {
      const hint = await missingKeysHint(this.store, where);
      if (hint) out.hint = hint;
    }
    return out;
  }

  /**
   * Trains query adapters on the collection's pairs (`clipdb adapt`): holds out `holdout` of the
   * images (default 0.2, seeded), trains one low-rank adapter per direction on the rest, and
   * stores each one only when its held-out R@1 gain passes a paired bootstrap test (see
   * AdaptOptions). Search applies stored adapters by default (SearchParams.adapt).
   */
  async adapt(opts: AdaptRunOptions = {}): Promise<Awaited<ReturnType<typeof adaptCollection>>> {
    await this.refreshModel();
    return adaptCollection(this.store, opts);
  }

  /** Removes the stored query adapters; returns the directions that were stored. */
  dropAdapters(): Promise<("t2i" | "i2t")[]> {
    return dropAdapters(this.store);
  }

  /**
   * Groups of near-duplicate images in the whole collection (see collection/dupes.ts for the rule
   * and its defaults). Images added before hashes were recorded are hashed from their files now.
   */
  async duplicates(opts: DupeOptions = {}): Promise<DupeReport> {
    return findDuplicates(this.store, opts, (id) => this.hashFromFile(id));
  }

  /** The near-duplicates of one stored image, best first (NOT_FOUND for unknown ids; [] for texts). */
  async duplicatesOf(id: string, opts: DupeOptions = {}): Promise<DupeMatch[]> {
    const r = await this.store.get(id);
    if (!r) throw new ClipdbError("NOT_FOUND", { id });
    if (r.modality !== "image") return [];
    const hash = typeof r.meta[PHASH_KEY] === "string" ? (r.meta[PHASH_KEY] as string) : await this.hashFromFile(id);
    if (!hash) return [];
    return duplicatesOfHash(this.store, hash, (await this.store.vector(r.offset))!, opts, r.offset, (other) => this.hashFromFile(other));
  }

  private async hashFromFile(id: string): Promise<string | undefined> {
    try {
      return await perceptualHash((await this.image(id)).data);
    } catch {
      return undefined;
    }
  }

  /** One item with its paired ids, or undefined. */
  async get(id: string): Promise<ItemView | undefined> {
    const r = await this.store.get(id);
    if (!r) return undefined;
    return { id: r.id, modality: r.modality, path: r.source, text: r.text, meta: r.meta, hash: r.hash, pairs: await this.store.pairedIds(id), createdAt: r.createdAt };
  }

  /** Paired ids and first caption of many items in one store read; see CollectionApi.pairsOf. */
  pairsOf(ids: readonly string[]): Promise<Map<string, { pairs: string[]; caption: string | null }>> {
    return this.store.pairsOfMany(ids);
  }

  /** The stored vector of an item (a copy), or undefined. */
  async vectorOf(id: string): Promise<Float32Array | undefined> {
    const r = await this.store.get(id);
    return r && this.store.vector(r.offset);
  }

  private async imageItem(id: string): Promise<{ source: string; hash: string | null }> {
    const r = await this.store.get(id);
    if (!r || r.modality !== "image" || !r.source) throw new ClipdbError("NOT_FOUND", { what: "image", id });
    return { source: r.source, hash: r.hash };
  }

  /**
   * The full bytes of an image item, read from its own source file only. The bytes must still
   * hash to the item's content hash, so a file replaced (or swapped for a link to another file)
   * since it was added is never served: NOT_FOUND, with a hint to re-add it.
   */
  async image(id: string): Promise<ImageBytes> {
    const { source, hash } = await this.imageItem(id);
    let data: Buffer;
    try {
      if (source.startsWith("blob:")) {
        const blob = await this.store.getBlob(source.slice(5));
        if (!blob) throw new ClipdbError("NOT_FOUND", { what: "image file", id, hint: `Its stored upload '${source.slice(5)}' is gone from the database; add the image again.` });
        data = blob;
      } else if (this.store.kind === "postgres") {
        throw new ClipdbError("NOT_FOUND", {
          what: "image file",
          id,
          hint: "This item was added by path, and a Postgres collection serves only what it stores: add it by upload (POST /items) to serve it from any server.",
        });
      } else data = await readFile(source);
    } catch (e) {
      if (e instanceof ClipdbError) throw e;
      throw new ClipdbError("NOT_FOUND", { what: "image file", id, hint: `Its file '${source}' is gone; re-add it or prune it with 'clipdb add --prune'.` }, { cause: e });
    }
    if (hash && contentHash(data) !== hash) {
      throw new ClipdbError("NOT_FOUND", { what: "image file", id, hint: `Its file '${source}' changed since it was added; re-add it with 'clipdb add'.` });
    }
    return { data, mime: sniffImage(data)?.mime ?? "application/octet-stream" };
  }

  /**
   * An EXIF-rotated JPEG thumbnail whose longer side is `size` px (default 256, clamped to 32..1024),
   * made once and cached under `<dir>/thumbs`.
   */
  async thumbnail(id: string, size = 256): Promise<ImageBytes> {
    const px = Math.max(32, Math.min(1024, Math.round(size) || 256));
    const hash = (await this.imageItem(id)).hash ?? createHash("sha1").update(id).digest("hex");
    if (this.store.kind === "postgres") {
      const key = `thumb/${hash.slice(0, 40)}-${px}.jpg`;
      const hit = await this.store.getBlob(key);
      if (hit) return { data: hit, mime: "image/jpeg" };
      const thumb = await thumbnailJpeg((await this.image(id)).data, px);
      await this.store.putBlob(key, thumb);
      return { data: thumb, mime: "image/jpeg" };
    }
    const cached = join(this.dir, "thumbs", `${hash.slice(0, 40)}-${px}.jpg`);
    if (existsSync(cached)) return { data: await readFile(cached), mime: "image/jpeg" };
    const { data } = await this.image(id);
    const thumb = await thumbnailJpeg(data, px);
    await mkdir(join(this.dir, "thumbs"), { recursive: true });
    // A temp name per writer: concurrent first requests (a result grid, or duplicates sharing a
    // hash) each write their own file, and the renames all land the same bytes.
    const tmp = tempPathFor(cached);
    await writeFile(tmp, thumb);
    await rename(tmp, cached);
    return { data: thumb, mime: "image/jpeg" };
  }

  /**
   * Removes items, their pairs and vectors (and so from every index), and returns how many of
   * `ids` were found and removed. Removing an image also removes the caption items it owns (`<id>#<n>`, added with it);
   * texts added on their own and paired later stay. Adding the same image again restores it.
   */
  async remove(ids: string[]): Promise<number> {
    const found = await this.store.transaction(async (tx) => {
      const known = new Set<string>();
      for (const id of ids) if ((await tx.get(id)) !== undefined) known.add(id);
      await tx.remove(await withOwnCaptions(tx, ids));
      return known.size;
    });
    testPoint("rm:committed");
    await this.afterWrite();
    return found;
  }

  /** After a committed write: folds large index deltas into their files (never fails the write). */
  private async afterWrite(): Promise<void> {
    await this.refreshModel();
    await this.indexes.compact(false);
  }

  /**
   * Builds an IVF or HNSW index over the stored vectors (per modality) and persists it. IVF lists
   * are query-aware (`route: "query"`, tuned for queries of the other modality) by default when the
   * collection holds both images and texts; `route: "none"` gives plain k-means. See BuildOptions.
   */
  async buildIndex(opts: BuildOptions): Promise<IndexStatus[]> {
    return this.indexes.build(opts);
  }

  /** Drops a built index (by kind name: "ivf", "hnsw") and its files. */
  async dropIndex(type: string): Promise<void> {
    await this.indexes.drop(type);
  }

  /**
   * Folds every index's pending changes into new files now (`clipdb index compact`), so the next
   * open replays nothing. Returns the indexes rewritten ("type:modality").
   */
  async compactIndexes(): Promise<string[]> {
    return this.indexes.compact(true);
  }

  /**
   * Evaluates retrieval on the collection's pairs (see EvalConfig): exact, and every IVF and HNSW
   * setting. Indexes that are not built are built in memory for the run (not saved), with `build`
   * options (nlist, spill, m) when given. On Postgres, a kind built on the server is measured there
   * (pgvector's index, each query a round trip, so its latency includes the wire); exact is always
   * the in-memory scan of the stored vectors. `notes` says which index each kind's rows measured.
   */
  async evaluate(cfg: Partial<EvalConfig> = {}, build: Omit<BuildOptions, "type"> = {}): Promise<EvalReport & { notes: string[]; adapters: AdaptedEval[] }> {
    const full: EvalConfig = { ...DEFAULT_EVAL, ...cfg };
    const model = await this.refreshModel();
    if (!model) throw new ClipdbError("INVALID_ARGUMENT", { name: "collection", reason: "it is empty", hint: "Add captioned images first." });
    let sets: Map<Modality, ModalityIndexes> = await this.indexes.all();
    const notes: string[] = [];
    if (this.indexes instanceof PgIndexes) {
      // Postgres: the rows of a kind built on the server measure pgvector's index (each query a
      // round trip), the rest an in-memory clipdb index built for the run; exact stays in memory.
      const remote = await this.indexes.forSearch("exact", [...sets.keys()]);
      const specs = await this.indexes.status();
      for (const name of full.indexes) {
        const kind = name === "exact" ? undefined : requireKind(name, "postgres", "index");
        if (!kind) continue;
        const on: string[] = [];
        for (const [m, set] of sets) {
          const r = remote.get(m)?.ann[name];
          if (!r) continue;
          set.ann[name] = r;
          on.push(`${m}:${specs.find((s) => s.type === name && s.modality === m)?.spec}`);
        }
        if (on.length) notes.push(`${name}: ${kind.id}, the index on the Postgres server (${on.join(", ")}); each query a round trip`);
      }
    }
    for (const name of full.indexes) {
      if (name === "exact") continue;
      requireKind(name, "sqlite", "index");
      const t = await withTransient(this.store, { ...build, type: name }, sets);
      sets = t.sets;
      if (t.built.length) notes.push(`${name} not built${this.indexes instanceof PgIndexes ? " on the server" : ""}: built in memory for this run (${t.built.join(", ")})`);
    }
    if (full.indexes.includes("ivf")) {
      for (const [m, set] of sets) {
        const ivf = set.ann.ivf as unknown as { nlist?: number; base?: { nlist?: number } } | undefined;
        const nlist = ivf?.nlist ?? ivf?.base?.nlist;
        const over = nlist === undefined ? [] : full.nprobes.filter((p) => p > nlist);
        if (over.length) notes.push(`the ${m} IVF has ${nlist} lists: nprobe ${over.join(", ")} probe all of them, the same as nprobe ${nlist}`);
      }
    }
    const pairs = await this.store.pairs();
    const vectorOf = await this.vectorsOf([...pairs.image, ...pairs.text]);
    const report = await evaluate({ sets, vectorOf, pairs, dim: model.dim }, full);
    // The rows above search with the model's own vectors; stored adapters are reported beside them.
    return { ...report, notes, adapters: await evalAdapters(this.store, this.adapters, full.limit) };
  }

  /**
   * Finds the smallest nprobe (IVF) and ef (HNSW) that reach `targetRecall` recall@10 against exact,
   * on up to `sample` held-out queries (captions against images and images against captions when
   * there are pairs, otherwise items against their own modality), and stores them as defaults
   * (the largest over the modalities). Every built kind of the collection's store is tuned by its
   * own parameter (kinds.ts): on Postgres, pgvector's `hnsw.ef_search` and `ivfflat.probes`
   * against exact pushdown, query by query on the server (a round trip per query and setting).
   */
  async tune(targetRecall = 0.95, sample = 500): Promise<TuneResult[]> {
    const store: KindStore = this.store.kind === "postgres" ? "postgres" : "sqlite";
    // On Postgres both sides are pushed down: pgvector's index with the setting under test against
    // exact ORDER BY <#>, so the value found is the one its searches will use.
    const sets: Map<Modality, ModalityIndexes> = store === "postgres" ? await this.indexes.forSearch("exact", ["image", "text"]) : await this.indexes.all();
    const pairs = await this.store.pairs();
    const out: TuneResult[] = [];
    const chosen: Record<string, number[]> = {};
    for (const [modality, set] of sets) {
      if (!annKinds(store).some((k) => set.ann[k.name])) continue;
      let queries: number[];
      if (pairs.image.length) queries = groundTruth(pairs, modality === "image" ? "t2i" : "i2t").queries;
      else queries = Array.from(await this.store.liveOffsets(modality));
      const step = Math.max(1, Math.floor(queries.length / sample));
      const picked = queries.filter((_, i) => i % step === 0).slice(0, sample);
      const vectorOf = await this.vectorsOf(picked);
      const qs = picked.map(vectorOf);
      if (!qs.length) continue;
      for (const kind of annKinds(store)) {
        const idx = set.ann[kind.name];
        if (!idx) continue;
        const param = kind.param.key;
        const r = await tuneSettingAsync(idx, set.flat, qs, param, [...kind.param.tune], targetRecall);
        (chosen[param] ??= []).push(r.value);
        out.push({ type: kind.name, kind: kind.id, modality, param, setting: kind.param.setting ?? null, ...r });
      }
    }
    if (out.length === 0) throw new ClipdbError("INDEX_NOT_BUILT", { type: annKinds(store).map((k) => k.name).join(" or ") });
    for (const [param, values] of Object.entries(chosen)) await this.setDefaults({ [param]: Math.max(...values) } as { nprobe?: number; ef?: number });
    return out;
  }


  /** The vectors of these live offsets, read in one pass, as a lookup. */
  private async vectorsOf(offsets: ArrayLike<number>): Promise<(offset: number) => Float32Array> {
    const sorted = Uint32Array.from(new Set(Array.from(offsets))).sort();
    const xs = await this.store.vectorsAt(sorted);
    const dim = this.model?.dim ?? xs.length / Math.max(1, sorted.length);
    const row = new Map<number, number>();
    sorted.forEach((o, i) => row.set(o, i));
    return (o) => xs.subarray(row.get(o)! * dim, (row.get(o)! + 1) * dim);
  }

  /** Records search defaults (used when a query does not say): index, nprobe, ef. */
  async setDefaults(d: { index?: IndexChoice; nprobe?: number; ef?: number }): Promise<void> {
    if (d.index !== undefined) await this.store.setSetting("default_index", d.index);
    if (d.nprobe !== undefined) await this.store.setSetting("default_nprobe", d.nprobe);
    if (d.ef !== undefined) await this.store.setSetting("default_ef", d.ef);
  }

  /** Ids of the live items of one modality (or all), in the order they were added. */
  async ids(modality?: Modality): Promise<string[]> {
    return (await this.store.getManyByOffsets(await this.store.liveOffsets(modality))).map((r) => r.id);
  }

  /** Ids and sources of image items (for pruning files that are gone). */
  sources(): Promise<{ id: string; source: string; hash: string | null }[]> {
    return this.store.sources();
  }

  /** Counts, model, index state and on-disk size. */
  async stats(): Promise<CollectionStats> {
    const c = await this.store.counts();
    const m = await this.refreshModel();
    const bytes = this.store instanceof PgCollectionStore ? await this.store.bytes() : dirBytes(this.dir);
    const kinds = kindsOf(this.store.kind === "postgres" ? "postgres" : "sqlite");
    return { images: c.images, texts: c.texts, pairs: c.pairs, dim: m?.dim ?? null, model: m?.modelId ?? null, indexes: await this.indexes.status(), kinds, bytes };
  }

  /** Index state only. */
  indexStatus(): Promise<IndexStatus[]> {
    return this.indexes.status();
  }

  private removeCreated(): void {
    for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`]) rmSync(join(this.dir, f), { force: true });
    if (this.createdHere === "folder" && readdirSync(this.dir).length === 0) rmSync(this.dir, { recursive: true, force: true });
  }

  /**
   * Folds large index deltas into their files (see COMPACT_MIN) and closes the store. Idempotent.
   * A collection that this handle created and that still stores nothing (no model recorded) is
   * removed again, so a failed first command leaves no empty collection behind.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.indexes.compact(false);
    } finally {
      const empty = this.createdHere !== undefined && (await this.store.model().catch(() => null)) === null;
      await this.store.close();
      // A command that failed before storing anything (say, the model could not be loaded) leaves nothing behind.
      if (empty) this.removeCreated();
    }
  }
}

/** A model reference as recorded: local folders become absolute paths, hub ids stay as they are. */
function modelRef(model: string): string {
  return existsSync(model) ? resolve(model) : model;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}
