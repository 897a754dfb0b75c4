/**
 * IVF with compressed lists (Faiss `IndexIVFScalarQuantizer` and `IndexIVFPQ`): the coarse
 * quantizer of IvfIndex, and per list the codes of each vector's residual (vector minus its
 * list's centroid) in SQ8, SQ4, F16 or PQ<m>. The float32 vectors stay in the index file for
 * re-scoring (see VectorFile).
 */
import { scanListed } from "../core/cost.js";
import { ClipdbError } from "../core/errors.js";
import { TopK, type Hits } from "../core/topk.js";
import type { SearchOptions, VectorIndex } from "../core/types.js";
import { checkBatch, checkK, checkOffsets, checkPositive, checkQuery, checkTrain, noHits } from "./checks.js";
import { CodeBlock } from "./codeblock.js";
import type { Codec, CodecKind, Prepared } from "./codec.js";
import { kindCode, makeCodec, pendingCodesCloser, readBlocks, renumber, writeBlocks, type PendingCodes } from "./codedfile.js";
import { BOUND_EPS, Pool, kthLargest, rescore } from "./exact.js";
import { FileReader, corrupt, writeAtomic } from "./fileio.js";
import { FlatIndex } from "./flat.js";
import { HEADER_BYTES, decodeHeader, encodeHeader, versionOf } from "./header.js";
import { kernelTopI8 } from "./kernel.js";
import { kmeans, seededRandom, type KMeansOptions } from "./kmeans.js";
import type { Sq8Query } from "./sq8.js";
import { VectorFile, vectorFileCloser, type VectorFileOptions } from "./vecfile.js";

const MAGIC = "CLIPQIVF";
/** Written: 2 (a CRC32 per list's codes, so lists can be read lazily); read: 1 and 2. */
const VERSION = 2;
/** Residuals the codec is trained on (a seeded sample). */
const CODEC_TRAIN_ROWS = 65536;
/** Vectors encoded per batch in `add` (bounds the residual buffer: 128 MiB at 512-d). */
const ADD_CHUNK = 65536;

/** Approximate scores of the rows of the probed lists: list, row and list base (centroid score) of each. */
interface Gathered {
  n: number;
  approx: Float64Array;
  list: Uint32Array;
  row: Uint32Array;
  base: Float64Array;
}

/** Options of a CompressedIvfIndex. */
export interface CompressedIvfOptions {
  dim: number;
  /** Inverted lists. */
  nlist: number;
  /** List codec: "sq8", "sq4", "f16" or "pq" (then `m` is required). */
  codec: CodecKind;
  /** PQ sub-quantisers (bytes per code); must divide dim. */
  m?: number;
  /**
   * Re-scoring: 0 (default) means exact within the probed lists for SQ8, SQ4 and F16 (the bound of
   * exact.ts: the same results as IVF-Flat at the same nprobe) and plain ADC scores for PQ;
   * r > 0 re-scores the best k * r candidates by their approximate score in float32 (Faiss
   * `IndexRefine`, LanceDB `refine_factor`), so the returned scores are true inner products.
   */
  refine?: number;
  /** Lists probed per query by default; default 16 (capped at nlist). */
  nprobe?: number;
  /** k-means settings of the coarse quantizer. */
  kmeans?: KMeansOptions;
  /** Native threads for train and add; default 0 = all cores. Searches use 1. */
  threads?: number;
  /** Where unsaved float32 vectors go once they pass 256 MiB (see VectorFile). */
  vectors?: VectorFileOptions;
}

/** Search options of a compressed IVF: `refine` overrides the index's for one search. */
export type CompressedIvfSearchOptions = SearchOptions & { refine?: number };

/**
 * Inverted file over compressed residuals.
 *
 * - `train(xs)`: k-means for the lists (as IvfIndex), then the codec on the residuals of a
 *   seeded sample of at most 65,536 vectors (PQ: 256-centroid k-means per sub-space).
 * - `add`: nearest list, residual, encode (INDEX_NOT_TRAINED before training).
 * - `search`: probes the `nprobe` nearest lists; see `refine` for how candidates become results.
 *   Filters: small `candidates` lists are scored in float32 directly; otherwise `allow` applies to
 *   the codes and, when fewer than k pass in the probed lists, every allowed vector is scored.
 * - Memory: codes plus 12 bytes per vector (offset, vector id, radius) and the centroids; the
 *   float32 vectors are in the saved file (vectors added since the last save are in RAM, up to
 *   256 MiB, then in a scratch file: see VectorFile).
 */
export class CompressedIvfIndex implements VectorIndex {
  readonly metric = "ip" as const;
  readonly dim: number;
  readonly nlist: number;
  readonly quantizer: FlatIndex;
  /** Default lists probed. */
  nprobe: number;
  /** Default re-scoring factor (see CompressedIvfOptions.refine). */
  refine: number;
  codec: Codec;
  private centroids: Float32Array | null = null;
  private lists: CodeBlock[];
  private vf: VectorFile;
  /** The lists' codes left in the file by a lazy load (each read on first use), else null. */
  private pending: PendingCodes | null = null;
  private where: Map<number, number> | null = null;
  private count = 0;
  private readonly kmeansOpts: KMeansOptions;
  private readonly threads: number;

  constructor(opts: CompressedIvfOptions) {
    const { dim, nlist } = opts;
    checkPositive("dim", dim);
    checkPositive("nlist", nlist);
    this.dim = dim;
    this.nlist = nlist;
    this.codec = makeCodec(opts.codec, dim, opts.m ?? 0);
    this.nprobe = opts.nprobe ?? 16;
    checkPositive("nprobe", this.nprobe);
    this.refine = opts.refine ?? 0;
    if (!Number.isInteger(this.refine) || this.refine < 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "refine", reason: `must be an integer >= 0, got ${opts.refine}` });
    this.quantizer = new FlatIndex(dim);
    this.kmeansOpts = opts.kmeans ?? {};
    this.threads = opts.threads ?? 0;
    this.lists = Array.from({ length: nlist }, () => new CodeBlock(this.codec.codeBytes));
    this.vf = new VectorFile(dim, opts.vectors);
    vectorFileCloser.register(this, this.vf);
  }

  /** PQ sub-quantisers (0 for SQ8 and F16). */
  get m(): number {
    return this.codec.kind === "pq" ? this.codec.codeBytes : 0;
  }

  get isTrained(): boolean {
    return this.quantizer.size === this.nlist && this.codec.trained;
  }

  get size(): number {
    return this.count;
  }

  /** Resident bytes: codes and per-row metadata, centroids, and unsaved float32 vectors. */
  get residentBytes(): number {
    let b = this.nlist * this.dim * 8 + this.vf.residentBytes + this.codec.state().length * 4;
    for (const l of this.lists) b += l.bytes;
    return b;
  }

  /** Vectors read from the file for re-scoring so far. */
  get vectorReads(): number {
    return this.vf.reads;
  }

  /** Vectors per list. */
  listSizes(): Uint32Array {
    return Uint32Array.from(this.lists, (l) => l.size);
  }

  offsets(): Uint32Array {
    return Uint32Array.from(this.locations().keys());
  }

  has(offset: number): boolean {
    return this.locations().has(offset);
  }

  /** Trains lists and codec on `xs` (n * dim, n >= nlist; PQ also n >= 256). Only while empty. */
  train(xs: Float32Array): void {
    const n = checkTrain(xs, this.dim);
    if (this.count > 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: "the index already holds vectors", hint: "Create a new index to retrain." });
    const { centroids } = kmeans(xs, this.dim, this.nlist, { threads: this.threads, ...this.kmeansOpts });
    const q = new FlatIndex(this.dim);
    q.add(Uint32Array.from({ length: this.nlist }, (_, i) => i), centroids);
    (this as { quantizer: FlatIndex }).quantizer = q;
    this.centroids = null;
    const m = Math.min(n, CODEC_TRAIN_ROWS);
    const rand = seededRandom(97);
    const sample = new Float32Array(m * this.dim);
    for (let i = 0; i < m; i++) {
      const r = m === n ? i : Math.floor(rand() * n);
      sample.set(xs.subarray(r * this.dim, (r + 1) * this.dim), i * this.dim);
    }
    this.residuals(sample, m, this.quantizer.assign(sample, 1, this.threads));
    this.codec.train(sample, m, this.threads);
  }

  /** Adds vectors to their nearest list (an offset already present is replaced). */
  add(offsets: Uint32Array, xs: Float32Array): void {
    checkBatch(offsets, xs, this.dim);
    if (!this.isTrained) throw new ClipdbError("INDEX_NOT_TRAINED", { index: `IVF,${this.codec.kind.toUpperCase()}` });
    const n = offsets.length;
    if (n === 0) return;
    const where = this.locations();
    const cb = this.codec.codeBytes;
    for (let i0 = 0; i0 < n; i0 += ADD_CHUNK) {
      const cn = Math.min(ADD_CHUNK, n - i0);
      const chunk = xs.subarray(i0 * this.dim, (i0 + cn) * this.dim);
      const assigned = this.quantizer.assign(chunk.byteOffset === 0 ? chunk : chunk.slice(), 1, this.threads);
      const res = chunk.slice();
      this.residuals(res, cn, assigned);
      const codes = new Uint8Array(cn * cb);
      const radius = new Float32Array(cn);
      this.codec.encode(res, cn, codes, radius, this.threads);
      if (n > ADD_CHUNK || this.count === 0) {
        const incoming = new Uint32Array(this.nlist);
        for (const l of assigned) incoming[l]++;
        for (let l = 0; l < this.nlist; l++) {
          if (incoming[l] > 0) this.list(l).reserve(this.lists[l].size + incoming[l], n >= this.count);
        }
      }
      for (let i = 0; i < cn; i++) {
        const off = offsets[i0 + i];
        if (where.has(off)) this.removeOne(off, where);
        const l = assigned[i];
        const vid = this.vf.append(xs, i0 + i);
        this.list(l).append(off, vid, radius[i], codes.subarray(i * cb, (i + 1) * cb));
        where.set(off, l);
        this.count++;
      }
    }
  }

  remove(offsets: Uint32Array): void {
    checkOffsets(offsets);
    const where = this.locations();
    for (const off of offsets) if (where.has(off)) this.removeOne(off, where);
  }

  /**
   * Top-k over the `nprobe` lists nearest to `q` (default the index's nprobe; capped at nlist).
   * `refine` (default the index's): see CompressedIvfOptions.refine.
   */
  search(q: Float32Array, k: number, opts: CompressedIvfSearchOptions = {}): Hits {
    checkK(k);
    const qq = checkQuery(q, this.dim);
    const nprobe = Math.min(opts.nprobe ?? this.nprobe, this.nlist);
    checkPositive("nprobe", nprobe);
    const refine = opts.refine ?? this.refine;
    if (!Number.isInteger(refine) || refine < 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "refine", reason: `must be an integer >= 0, got ${refine}` });
    if (k === 0 || this.count === 0) return noHits();
    const top = new TopK(Math.min(k, this.count));
    const f = opts.filter;
    if (f?.list && scanListed(f.list.length, (nprobe * this.count) / this.nlist)) {
      return { ...this.scoreOffsets(qq, top, f.list, f.tests ? (o) => f.test(o) : undefined).result(), scanned: f.list.length };
    }
    const allow = f && ((o: number) => f.has(o));
    const probe = this.quantizer.search(qq, nprobe);
    const p = this.codec.prepare(qq);
    const exact = refine === 0 && Number.isFinite(p.slack);
    const g = this.gather(p, probe.offsets, probe.scores, allow);
    if (exact) this.exactTop(qq, p, g, top);
    else if (refine > 0) {
      const pre = new TopK(Math.min(g.n, top.k * refine));
      for (let i = 0; i < g.n; i++) pre.push(i, Math.fround(g.approx[i]));
      const r = pre.result();
      for (const i of r.offsets) {
        const b = this.lists[g.list[i]];
        top.push(b.offsets[g.row[i]], Math.fround(this.vf.dot(b.vids[g.row[i]], qq)));
      }
    } else {
      for (let i = 0; i < g.n; i++) top.push(this.lists[g.list[i]].offsets[g.row[i]], Math.fround(g.approx[i]));
    }
    if (allow && top.size < top.k) {
      const all: number[] = [];
      for (const l of this.lists) for (let r = 0; r < l.size; r++) if (allow(l.offsets[r])) all.push(l.offsets[r]);
      return { ...this.scoreOffsets(qq, new TopK(top.k), Uint32Array.from(all)).result(), scanned: g.n + all.length };
    }
    return { ...top.result(), scanned: g.n };
  }

  /** Approximate scores of every allowed row of the probed lists. */
  private gather(p: Prepared, probe: Uint32Array, bases: Float32Array, allow?: (o: number) => boolean): Gathered {
    let total = 0;
    for (const l of probe) total += this.lists[l].size;
    const approx = new Float64Array(total);
    const list = new Uint32Array(total);
    const row = new Uint32Array(total);
    const base = new Float64Array(total);
    let n = 0;
    let scratch = new Float64Array(0);
    for (let j = 0; j < probe.length; j++) {
      const l = probe[j];
      const b = this.list(l);
      if (b.size === 0) continue;
      const lb = bases[j];
      if (this.codec.kind === "sq8") {
        const sp = p as Sq8Query;
        const m = kernelTopI8(new Int8Array(b.codes.buffer, 0, b.size * this.dim), b.size, this.dim, sp.w8, b.size);
        for (let i = 0; i < b.size; i++) {
          const r = m.rows[i];
          if (allow && !allow(b.offsets[r])) continue;
          approx[n] = lb + sp.base + sp.scale * m.dots[i];
          base[n] = lb;
          list[n] = l;
          row[n++] = r;
        }
        continue;
      }
      if (scratch.length < b.size) scratch = new Float64Array(b.size);
      this.codec.scoreAll(p, b.codes, b.size, scratch);
      for (let r = 0; r < b.size; r++) {
        if (allow && !allow(b.offsets[r])) continue;
        approx[n] = lb + scratch[r];
        base[n] = lb;
        list[n] = l;
        row[n++] = r;
      }
    }
    return { n, approx, list, row, base };
  }

  /** Exact top-k of the gathered rows: cut at the k-th lower bound, tighten (SQ8), re-score (exact.ts). */
  private exactTop(q: Float32Array, p: Prepared, g: Gathered, top: TopK): void {
    // The list bases are the quantizer's float32-rounded scores: the extra BOUND_EPS covers that.
    const lower = new Float64Array(g.n);
    for (let i = 0; i < g.n; i++) lower[i] = g.approx[i] - p.slack - p.qnorm * this.lists[g.list[i]].radius[g.row[i]] - 2 * BOUND_EPS;
    const cut = kthLargest(lower, g.n, top.k);
    const pool = new Pool();
    for (let i = 0; i < g.n; i++) {
      const b = this.lists[g.list[i]];
      const r = g.row[i];
      const err = p.qnorm * b.radius[r] + 2 * BOUND_EPS;
      if (g.approx[i] + p.slack + err < cut) continue;
      pool.push(g.approx[i] + p.slack + err, b.vids[r], b.offsets[r], i);
    }
    // SQ8's kernel score has slack; the exact decoded score of a candidate reached has none.
    const tighten = p.slack > 0 ? (i: number): number => g.base[i] + this.codec.score(p, this.lists[g.list[i]].codes, g.row[i]) + p.qnorm * this.lists[g.list[i]].radius[g.row[i]] + 2 * BOUND_EPS : undefined;
    rescore(pool, q, this.vf, top, tighten);
  }

  /** Exact scores of the listed offsets (unknown and disallowed ones skipped) into `top`. */
  private scoreOffsets(q: Float32Array, top: TopK, offs: Uint32Array, allow?: (o: number) => boolean): TopK {
    const where = this.locations();
    for (const off of offs) {
      const l = where.get(off);
      if (l === undefined || (allow && !allow(off))) continue;
      const b = this.lists[l];
      top.push(off, Math.fround(this.vf.dot(b.vids[b.find(off)], q)));
    }
    return top;
  }

  /** Turns rows of `xs` into residuals against their assigned centroids, in place. */
  private residuals(xs: Float32Array, n: number, assigned: Uint32Array): void {
    const c = this.centroidRows();
    const d = this.dim;
    for (let i = 0; i < n; i++) {
      const o = i * d;
      const co = assigned[i] * d;
      for (let t = 0; t < d; t++) xs[o + t] -= c[co + t];
    }
  }

  private centroidRows(): Float32Array {
    if (!this.centroids) {
      const c = new Float32Array(this.nlist * this.dim);
      for (let l = 0; l < this.nlist; l++) c.set(this.quantizer.vector(l)!, l * this.dim);
      this.centroids = c;
    }
    return this.centroids;
  }

  /** List `l`, reading its codes from the file first if a lazy load left them there. */
  private list(l: number): CodeBlock {
    this.pending?.load(l, this.lists[l]);
    return this.lists[l];
  }

  /** Lists whose codes a lazy load has not read yet. */
  get pendingLists(): number {
    return this.pending?.remaining ?? 0;
  }

  /** Writes the index atomically (reading any lists a lazy load left in the file first); afterwards it re-scores from that file. */
  async save(path: string): Promise<void> {
    for (let l = 0; l < this.nlist && this.pendingLists > 0; l++) this.list(l);
    let vecPos = 0;
    await writeAtomic(path, (w) => {
      w.write(new Uint8Array(HEADER_BYTES));
      this.quantizer.writeSection(w);
      const c = writeBlocks(w, this.codec, this.lists, this.vf, true);
      vecPos = w.pos - this.count * this.dim * 4;
      w.writeAt(encodeHeader(MAGIC, VERSION, [this.dim, this.nlist, this.nprobe, this.count, kindCode(this.codec.kind), this.m, this.refine, c.stateLen, c.metaCrc, c.vecCrc]), 0);
    });
    renumber(this.lists);
    this.vf.attach(path, vecPos, this.count);
  }

  /**
   * Opens a saved index without retraining: reads the quantizer, the list directory, offsets and
   * radii (the float32 vectors stay in the file). `lazy` (default true; version-2 files): each
   * list's codes are read, and checked against their CRC32, on first use, so opening costs
   * O(nlist + n * 8 bytes), not the codes' size (1.3 GB at 5M x SQ4); false reads them all now.
   * `verify`: read everything now and also check the float32 vectors' CRC32. INDEX_CORRUPT on any
   * damage (for a lazy open, a damaged list fails the search that first reads it).
   */
  static async load(path: string, opts: { nprobe?: number; refine?: number; threads?: number; verify?: boolean; lazy?: boolean } = {}): Promise<CompressedIvfIndex> {
    const r = new FileReader(path);
    let keepOpen = false;
    try {
      const head = r.bytes(HEADER_BYTES, "header");
      const [dim, nlist, nprobe, count, kind, m, refine, stateLen, metaCrc, vecCrc] = decodeHeader(head, path, MAGIC, [1, VERSION]);
      if (dim < 1 || nlist < 1 || nprobe < 1 || kind < 1 || kind > 4) throw corrupt(path, `invalid parameters (dim ${dim}, nlist ${nlist}, codec ${kind})`);
      const quantizer = FlatIndex.readSection(r);
      if (quantizer.dim !== dim || (quantizer.size !== 0 && quantizer.size !== nlist)) throw corrupt(path, "quantizer does not match the header");
      const verify = opts.verify ?? false;
      const got = readBlocks(r, { kind, dim, m, stateLen, nblocks: nlist, metaCrc, vecCrc, blockCrcs: versionOf(head) >= 2 }, verify, (opts.lazy ?? true) && !verify);
      if (got.rows !== count) throw corrupt(path, `holds ${got.rows} vectors, header says ${count}`);
      const idx = new CompressedIvfIndex({ dim, nlist, codec: got.codec.kind, m: m || undefined, nprobe: opts.nprobe ?? nprobe, refine: opts.refine ?? refine, threads: opts.threads });
      (idx as { quantizer: FlatIndex }).quantizer = quantizer;
      idx.codec = got.codec;
      idx.lists = got.blocks;
      idx.count = count;
      idx.vf.attach(path, got.vecPos, count);
      if (got.pending && !got.pending.done) {
        idx.pending = got.pending;
        pendingCodesCloser.register(idx, got.pending);
        keepOpen = true;
      }
      return idx;
    } finally {
      if (!keepOpen) r.close();
    }
  }

  private removeOne(off: number, where: Map<number, number>): void {
    const b = this.list(where.get(off)!);
    const r = b.find(off);
    if (r >= 0) b.removeRow(r);
    where.delete(off);
    this.count--;
  }

  private locations(): Map<number, number> {
    if (!this.where) {
      const m = new Map<number, number>();
      this.lists.forEach((b, l) => {
        for (let r = 0; r < b.size; r++) m.set(b.offsets[r], l);
      });
      this.where = m;
    }
    return this.where;
  }
}
