/**
 * HNSW: usearch's `Index` (metric ip, float32), keyed by offset, plus clipdb's own exact copy of
 * the vectors for filtered search.
 */
import { scanListed } from "../core/cost.js";
import fs from "node:fs";
import { Index, MetricKind, ScalarKind } from "usearch";
import { ClipdbError } from "../core/errors.js";
import { testPoint } from "../core/testpoint.js";
import { TopK, type Hits } from "../core/topk.js";
import type { SearchOptions, VectorIndex } from "../core/types.js";
import { checkBatch, checkK, checkOffsets, checkPositive, checkQuery, noHits } from "./checks.js";
import { FileReader, FileWriter, commitTemp, corrupt, crc32, tempPathFor } from "./fileio.js";
import { FlatIndex } from "./flat.js";
import { HEADER_BYTES, decodeHeader, encodeHeader, join64, split64 } from "./header.js";

/** Options of an HnswIndex. */
export interface HnswOptions {
  /** Vector dimension. */
  dim: number;
  /** Graph degree (usearch `connectivity`, HNSW's M); default 32. Higher: better recall, more memory, slower build. */
  m?: number;
  /** Candidate list size while building (`expansion_add`); default 128. Higher: better graph, slower build. */
  efConstruction?: number;
  /** Default candidate list size per query; default 64 (at least k). Higher: slower and more exact. */
  ef?: number;
  /**
   * Native threads for add; default 1. More threads build faster, but usearch 2.25's concurrent
   * add leaves some nodes unreachable by search (unum-cloud/USearch#735): measured here, 400
   * clustered 32-d vectors built on 2 threads lost 1-2 nodes per build even at ef = n, and none
   * on 1 thread. Pass 0 (all cores) only where a few lost nodes are acceptable. Searches use 1.
   */
  threads?: number;
}

/** Options of `HnswIndex.load`. */
export interface HnswLoadOptions {
  /**
   * Memory-map the graph with usearch `view` instead of reading it into RAM; default false. A viewed
   * index answers searches but is read-only (add/remove: INVALID_ARGUMENT), and the file must stay
   * in place while it is open. The file is still read once to verify its checksum, because usearch
   * crashes the process on a corrupt graph.
   */
  view?: boolean;
  /**
   * Read the exact vector copy on first use (a filtered search or a change) instead of now;
   * default true. It halves the bytes read at open; the copy's checksum is then checked on first use.
   */
  lazy?: boolean;
  /** Overrides the stored default ef. */
  ef?: number;
  /** Overrides the add threads. */
  threads?: number;
}

const MAGIC = "CLIPHNSW";
const VERSION = 1;

/**
 * Approximate kNN on usearch's HNSW graph.
 *
 * - `ef` per query: the JS binding of usearch 2.25 fixes `expansion_search` at construction and has
 *   no setter, but its search uses max(expansion_search, wanted). The index is therefore created
 *   with expansion_search = 1 and each query asks for max(k, ef) results and keeps the best k,
 *   which is exactly a search with that ef.
 * - Scores are the true inner products 1 - distance (usearch accumulates in float64).
 * - Vectors: the binding has no `get`, so the index keeps its own exact copy (a FlatIndex), which
 *   doubles the memory of the vectors. It serves the exact scan of a filter's list when the cost
 *   model says so (core/cost.ts: at most max(4096, ef · M) offsets, about what one graph search
 *   scores) and the exact fallback when a filter
 *   rejects too many graph results. Other filters over-fetch 4x, then 16x, then fall back.
 * - `scanned` is only reported for exact scans; usearch does not expose its distance count.
 * - File: usearch's own serialisation, then the FlatIndex section, then a 64-byte trailer (magic
 *   CLIPHNSW, parameters, size and CRC32 of the usearch part), written atomically. `load` reads
 *   the vector copy lazily, on first need.
 */
export class HnswIndex implements VectorIndex {
  readonly metric = "ip" as const;
  readonly isTrained = true;
  readonly dim: number;
  readonly m: number;
  readonly efConstruction: number;
  /** Default ef per query. */
  ef: number;
  /** True when opened with `view` (memory-mapped, read-only). */
  readonly readOnly: boolean;
  private readonly threads: number;
  private index: Index;
  private flat: FlatIndex | null;
  /** Where the vector copy still sits in the file after a lazy load, else null. */
  private pending: { r: FileReader } | null = null;

  /** Creates an empty index (defaults in HnswOptions). `internal` is used by `load` only. */
  constructor(opts: HnswOptions, internal?: { index: Index; vectors: FlatIndex | null; pending?: FileReader; readOnly: boolean }) {
    this.dim = opts.dim;
    this.m = opts.m ?? 32;
    this.efConstruction = opts.efConstruction ?? 128;
    this.ef = opts.ef ?? 64;
    this.threads = opts.threads ?? 1;
    checkPositive("dim", this.dim);
    checkPositive("m", this.m);
    checkPositive("efConstruction", this.efConstruction);
    checkPositive("ef", this.ef);
    this.index = internal?.index ?? HnswIndex.makeNative(this.dim, this.m, this.efConstruction);
    this.flat = internal ? internal.vectors : new FlatIndex(this.dim);
    this.readOnly = internal?.readOnly ?? false;
    if (internal?.pending) {
      this.pending = { r: internal.pending };
      fileCloser.register(this, internal.pending);
    }
  }

  /** The exact vector copy, read from the file on first use after a lazy load. */
  private get vectors(): FlatIndex {
    if (!this.flat) {
      const r = this.pending!.r;
      try {
        this.flat = FlatIndex.readSection(r);
      } finally {
        r.close();
        this.pending = null;
      }
    }
    return this.flat;
  }

  private static makeNative(dim: number, m: number, efConstruction: number): Index {
    return new Index({
      dimensions: dim,
      metric: MetricKind.IP,
      quantization: ScalarKind.F32,
      connectivity: m,
      expansion_add: efConstruction,
      expansion_search: 1,
      multi: false,
    });
  }

  /** Number of vectors held. */
  get size(): number {
    return this.index.size();
  }

  /** No-op: HNSW needs no training. */
  train(_xs: Float32Array): void {}

  /** Offsets held, in no particular order. */
  offsets(): Uint32Array {
    return this.vectors.offsets();
  }

  /** True when `offset` is held (asks the graph; the vector copy is not read). */
  has(offset: number): boolean {
    return (this.index.contains(BigInt(offset)) as boolean) === true;
  }

  /** Inserts vectors into the graph (re-adding an offset replaces it). Cost: about efConstruction * m distances each. */
  add(offsets: Uint32Array, xs: Float32Array): void {
    checkBatch(offsets, xs, this.dim);
    this.writable();
    if (offsets.length === 0) return;
    const vectors = this.vectors; // read a lazily loaded copy before the graph changes
    const last = new Map<number, number>();
    offsets.forEach((o, i) => last.set(o, i));
    let keys: BigUint64Array;
    let batch = xs;
    if (last.size === offsets.length) {
      keys = BigUint64Array.from(offsets, (o) => BigInt(o));
    } else {
      keys = new BigUint64Array(last.size);
      batch = new Float32Array(last.size * this.dim);
      let j = 0;
      for (const [o, i] of last) {
        keys[j] = BigInt(o);
        batch.set(xs.subarray(i * this.dim, (i + 1) * this.dim), j++ * this.dim);
      }
    }
    const present = this.index.contains(keys) as boolean[];
    const again = keys.filter((_, i) => present[i]);
    if (again.length) this.index.remove(again);
    this.index.add(keys, batch.byteOffset === 0 ? batch : batch.slice(), this.threads);
    vectors.add(offsets, xs);
  }

  /** Removes offsets (unknown ones are ignored). */
  remove(offsets: Uint32Array): void {
    checkOffsets(offsets);
    this.writable();
    const vectors = this.vectors;
    const keys = BigUint64Array.from(offsets, (o) => BigInt(o));
    const present = this.index.contains(keys) as boolean[];
    const gone = keys.filter((_, i) => present[i]);
    if (gone.length) this.index.remove(gone);
    vectors.remove(offsets);
  }

  /**
   * Top-k by inner product from the graph; `opts.ef` (default this.ef, 64) sets the candidate
   * list, at least k. Filters: see the class TSDoc; exactly min(k, allowed) results come back.
   */
  search(q: Float32Array, k: number, opts: SearchOptions = {}): Hits {
    checkK(k);
    const qq = checkQuery(q, this.dim);
    const ef = opts.ef ?? this.ef;
    checkPositive("ef", ef);
    if (k === 0 || this.size === 0) return noHits();
    const kk = Math.min(k, this.size);
    const f = opts.filter;
    if (f?.list && scanListed(f.list.length, ef * this.m)) return this.vectors.search(qq, k, { filter: f });
    const allow = f && ((o: number) => f.has(o));
    const base = Math.max(kk, ef);
    if (!allow) return this.graphSearch(qq, kk, base);
    for (const factor of [4, 16]) {
      const wanted = Math.min(this.size, base * factor);
      const hits = this.graphSearch(qq, kk, wanted, allow);
      if (hits.offsets.length === kk) return hits;
      if (wanted === this.size) break;
    }
    return this.vectors.search(qq, k, { filter: f });
  }

  /** One usearch query for `wanted` results; keeps the best `kk` allowed, ties by offset. */
  private graphSearch(q: Float32Array, kk: number, wanted: number, allow?: (o: number) => boolean): Hits {
    const r = this.index.search(q, Math.min(wanted, this.size), 1);
    const top = new TopK(kk);
    const keys = r.keys as BigUint64Array;
    for (let i = 0; i < keys.length; i++) {
      const off = Number(keys[i]);
      if (allow && !allow(off)) continue;
      top.push(off, Math.fround(1 - r.distances[i]));
    }
    return top.result();
  }

  /**
   * Writes the index atomically: usearch saves into a temp file, clipdb appends its vector copy and
   * trailer (with a CRC32 of the usearch part), fsyncs, and renames it over `path`.
   */
  async save(path: string): Promise<void> {
    const tmp = tempPathFor(path);
    try {
      this.index.save(tmp);
      const nativeBytes = fs.statSync(tmp).size;
      const crc = fileCrc(tmp, nativeBytes);
      const fd = fs.openSync(tmp, "r+");
      try {
        const w = new FileWriter(fd);
        w.pos = nativeBytes;
        this.vectors.writeSection(w);
        w.write(encodeHeader(MAGIC, VERSION, [this.dim, this.m, this.efConstruction, this.ef, ...split64(nativeBytes), crc]));
        fs.ftruncateSync(fd, w.pos);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      testPoint("index:temp-written");
      commitTemp(tmp, path);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Opens an index written by `save`: loads (default) or memory-maps (`view: true`, read-only) the
   * usearch graph after checking its CRC32. The vector copy is read on first use (a filtered search
   * or a change), unless `lazy: false`. Truncated, corrupt or foreign files: INDEX_CORRUPT.
   */
  static async load(path: string, opts: HnswLoadOptions = {}): Promise<HnswIndex> {
    const r = new FileReader(path);
    let keep = false;
    try {
      const { dim, m, efConstruction, ef, nativeBytes, crc, sec } = readTrailer(r);
      if (fileCrc(path, nativeBytes) !== crc) throw corrupt(path, "usearch graph checksum mismatch");
      const index = HnswIndex.makeNative(dim, m, efConstruction);
      try {
        if (opts.view) index.view(path);
        else index.load(path);
      } catch (e) {
        throw corrupt(path, `usearch cannot open it (${(e as Error).message})`, e);
      }
      if (index.size() !== sec.n || index.dimensions() !== dim) {
        throw corrupt(path, `graph holds ${index.size()} vectors of dimension ${index.dimensions()}, vector section ${sec.n} of ${dim}`);
      }
      const lazy = opts.lazy ?? true;
      const vectors = lazy ? null : FlatIndex.readSection(r);
      keep = lazy;
      return new HnswIndex({ dim, m, efConstruction, ef: opts.ef ?? ef, threads: opts.threads }, { index, vectors, pending: lazy ? r : undefined, readOnly: !!opts.view });
    } finally {
      if (!keep) r.close();
    }
  }

  /**
   * Checks a file's structure without loading it: trailer, vector section header and sizes (a
   * truncated or foreign file fails). The graph's checksum is only checked by `load`.
   */
  static check(path: string): void {
    const r = new FileReader(path);
    try {
      readTrailer(r);
    } finally {
      r.close();
    }
  }

  private writable(): void {
    if (this.readOnly) {
      throw new ClipdbError("INVALID_ARGUMENT", { name: "index", reason: "this HNSW index was opened with view (memory-mapped, read-only)", hint: "Open it with HnswIndex.load(path) to modify it." });
    }
  }
}

/** Closes the file of an index that is garbage-collected before its vector copy was read. */
const fileCloser = new FinalizationRegistry<FileReader>((r) => {
  try {
    r.close();
  } catch {
    // Already closed.
  }
});

/** Reads and checks the trailer and the vector section header; leaves `r` at the vector section. */
function readTrailer(r: FileReader) {
  const path = r.file;
  if (r.size < HEADER_BYTES) throw corrupt(path, `file too short (${r.size} bytes)`);
  r.pos = r.size - HEADER_BYTES;
  const [dim, m, efConstruction, ef, lo, hi, crc] = decodeHeader(r.bytes(HEADER_BYTES, "trailer"), path, MAGIC, VERSION);
  const nativeBytes = join64(lo, hi);
  if (dim < 1 || m < 1 || nativeBytes > r.size - HEADER_BYTES) throw corrupt(path, "invalid trailer");
  r.pos = nativeBytes;
  const sec = FlatIndex.peekSection(r);
  if (sec.dim !== dim) throw corrupt(path, `vector section has dimension ${sec.dim}, trailer says ${dim}`);
  if (nativeBytes + sec.bytes + HEADER_BYTES !== r.size) throw corrupt(path, "vector section does not end at the trailer");
  return { dim, m, efConstruction, ef, nativeBytes, crc, sec };
}

/** CRC32 of the first `bytes` bytes of a file, read in 64 MiB chunks. */
function fileCrc(file: string, bytes: number): number {
  const r = new FileReader(file);
  try {
    r.startCrc();
    for (let left = bytes; left > 0; ) {
      const n = Math.min(left, 1 << 26);
      r.bytes(n, "usearch graph");
      left -= n;
    }
    return r.crc;
  } finally {
    r.close();
  }
}
