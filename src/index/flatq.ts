/**
 * Flat,SQ8 and Flat,F16 (Faiss `IndexScalarQuantizer`): exact search over compressed vectors.
 * The codes live in RAM (SQ8: 1 byte per dimension, F16: 2), the float32 vectors in the index
 * file, and every search returns the exact top-k, equal to a float32 brute force (see exact.ts).
 */
import { GATHER_COST, scanListed } from "../core/cost.js";
import os from "node:os";
import { ClipdbError } from "../core/errors.js";
import { TopK, type Hits } from "../core/topk.js";
import type { SearchOptions, VectorIndex } from "../core/types.js";
import { checkBatch, checkK, checkOffsets, checkQuery, checkTrain, noHits } from "./checks.js";
import { CodeBlock } from "./codeblock.js";
import type { Codec } from "./codec.js";
import { kindCode, makeCodec, readBlocks, renumber, writeBlocks } from "./codedfile.js";
import { BOUND_EPS, Pool, kthLargest, rescore } from "./exact.js";
import { FileReader, corrupt, writeAtomic } from "./fileio.js";
import { HEADER_BYTES, decodeHeader, encodeHeader } from "./header.js";
import { kernelTopI8 } from "./kernel.js";
import type { Sq8Query } from "./sq8.js";
import { VectorFile, vectorFileCloser } from "./vecfile.js";

const MAGIC = "CLIPQFLT";
const VERSION = 1;
/**
 * Candidates beyond k that the first SQ8 kernel pass keeps (each further pass costs a whole scan
 * again). Measured on 1M x 512 clustered vectors: with 64 the bound closed after the first pass
 * in 5% of queries (1.95 passes per query, 42.5 ms), with 256 in all of them (1 pass, 21.4 ms);
 * 1024 gained nothing more. Re-scoring stays at about 40 float32 reads: only candidates whose
 * bound can still reach the k-th score are read.
 */
const FIRST_EXTRA = 256;

/** Options of a CompressedFlatIndex. */
export interface CompressedFlatOptions {
  /** "sq8" (default) or "f16". */
  codec?: "sq8" | "f16";
  /**
   * Native threads of the SQ8 scan; default 0 = auto: 1 below 16 MiB of codes, else all cores
   * (up to 4). Measured on the 2-core dev VM: see the README's Performance section.
   */
  threads?: number;
}

/** Options of `CompressedFlatIndex.load`. */
export interface CompressedFlatLoadOptions {
  /** Native threads (see CompressedFlatOptions). */
  threads?: number;
  /** Also read the float32 vectors once and check their CRC32 (default false: open reads only the codes). */
  verify?: boolean;
}

/**
 * Exact inner-product search over SQ8 or F16 codes.
 *
 * - Memory: codes (dim or 2 * dim bytes per vector) plus 12 bytes (offset, vector id, radius)
 *   per vector; the float32 vectors are read from the saved file by `pread` when a candidate is
 *   re-scored. Vectors added since the last `save` wait in RAM until the next `save`.
 * - `search`: SQ8 scans the int8 codes with the SIMD kernel (a quarter of float32's bytes),
 *   fetching the best k + 256 and growing that 4x until the bound proves nothing else can enter
 *   the top-k; F16 scores every code in JS. Candidates are re-scored in float32: the result is the
 *   exact top-k by true inner product, ties by smaller offset (see exact.ts).
 * - SQ8 needs a trained range per dimension: `train(xs)`, or the first `add` trains on its own
 *   batch. Vectors outside the trained range are clamped, which only widens their radius (still
 *   exact, a little slower).
 */
export class CompressedFlatIndex implements VectorIndex {
  readonly metric = "ip" as const;
  /** Native threads per SQ8 scan, 0 = auto. */
  threads: number;
  readonly codec: Codec;
  private block: CodeBlock;
  private vf: VectorFile;
  private rowOf: Map<number, number> | null = null;

  constructor(
    readonly dim: number,
    opts: CompressedFlatOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: `must be a positive integer, got ${dim}` });
    this.codec = makeCodec(opts.codec ?? "sq8", dim);
    this.threads = opts.threads ?? 0;
    this.block = new CodeBlock(this.codec.codeBytes);
    this.vf = new VectorFile(dim);
    vectorFileCloser.register(this, this.vf);
  }

  /** "sq8" or "f16". */
  get kind(): "sq8" | "f16" {
    return this.codec.kind as "sq8" | "f16";
  }

  /** Always true: an untrained SQ8 index trains on its first add. */
  get isTrained(): boolean {
    return true;
  }

  get size(): number {
    return this.block.size;
  }

  /** Resident bytes: codes, per-row metadata and unsaved float32 vectors (not the offset map). */
  get residentBytes(): number {
    return this.block.bytes + this.vf.residentBytes;
  }

  /** Vectors read from the file for re-scoring so far. */
  get vectorReads(): number {
    return this.vf.reads;
  }

  /** SQ8: learns each dimension's range from `xs` (n * dim); allowed only while empty. F16: no-op. */
  train(xs: Float32Array): void {
    const n = checkTrain(xs, this.dim);
    if (this.size > 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "train", reason: "the index already holds vectors", hint: "Create a new index to retrain." });
    this.codec.train(xs, n);
  }

  /** Adds vectors (an offset already present is replaced). Cost: encoding, O(n * dim). */
  add(offsets: Uint32Array, xs: Float32Array): void {
    checkBatch(offsets, xs, this.dim);
    const n = offsets.length;
    if (n === 0) return;
    if (!this.codec.trained) this.codec.train(xs, n);
    const rowOf = this.rows();
    const codes = new Uint8Array(n * this.codec.codeBytes);
    const radius = new Float32Array(n);
    this.codec.encode(xs, n, codes, radius);
    this.block.reserve(this.block.size + n, n > this.block.size);
    const cb = this.codec.codeBytes;
    for (let i = 0; i < n; i++) {
      const off = offsets[i];
      if (rowOf.has(off)) this.removeOne(off, rowOf);
      const vid = this.vf.append(xs, i);
      rowOf.set(off, this.block.append(off, vid, radius[i], codes.subarray(i * cb, (i + 1) * cb)));
    }
  }

  /** Removes offsets (unknown ones are ignored). */
  remove(offsets: Uint32Array): void {
    checkOffsets(offsets);
    const rowOf = this.rows();
    for (const off of offsets) if (rowOf.has(off)) this.removeOne(off, rowOf);
  }

  /** Offsets held, in storage order. */
  offsets(): Uint32Array {
    return this.block.offsets.slice(0, this.size);
  }

  has(offset: number): boolean {
    return this.rows().has(offset);
  }

  /** The float32 vector stored under `offset` (read from the file), or undefined. */
  vector(offset: number): Float32Array | undefined {
    const r = this.rows().get(offset);
    return r === undefined ? undefined : this.vf.read(this.block.vids[r], new Float32Array(this.dim));
  }

  /**
   * Exact top-k by inner product, best first, ties by smaller offset. `scanned`: codes scored
   * (a growing SQ8 scan counts every pass). Filters: a filter's list of up to max(4096, n/4) offsets (core/cost.ts) is scored
   * in float32 directly; otherwise the filter is applied to the codes, and the scan grows until the
   * bound holds over the allowed rows, so exactly min(k, allowed) come back.
   */
  search(q: Float32Array, k: number, opts: SearchOptions = {}): Hits {
    checkK(k);
    const qq = checkQuery(q, this.dim);
    if (k === 0 || this.size === 0) return noHits();
    const top = new TopK(Math.min(k, this.size));
    const f = opts.filter;
    if (f?.list && scanListed(f.list.length, this.size / GATHER_COST)) {
      const rowOf = this.rows();
      let n = 0;
      for (const off of f.list) {
        const r = rowOf.get(off);
        if (r === undefined || !f.test(off)) continue;
        top.push(off, Math.fround(this.vf.dot(this.block.vids[r], qq)));
        n++;
      }
      return { ...top.result(), scanned: n };
    }
    const allow = f && ((o: number) => f.has(o));
    const scanned = this.codec.kind === "sq8" ? this.searchSq8(qq, top, allow) : this.searchAll(qq, top, allow);
    return { ...top.result(), scanned };
  }

  /** SQ8: kernel top-`want` over the int8 codes, growing until the bound closes (see class TSDoc). */
  private searchSq8(q: Float32Array, top: TopK, allow?: (o: number) => boolean): number {
    const p = this.codec.prepare(q) as Sq8Query;
    const b = this.block;
    const n = b.size;
    const codes = new Int8Array(b.codes.buffer, 0, n * this.dim);
    const threads = this.scanThreads();
    const pool = new Pool();
    const considered = new Set<number>();
    const rest = p.slack + p.qnorm * this.codec.maxRadius + BOUND_EPS;
    let want = Math.min(n, allow ? 4 * top.k + FIRST_EXTRA : top.k + FIRST_EXTRA);
    let scanned = 0;
    for (;;) {
      const m = kernelTopI8(codes, n, this.dim, p.w8, want, threads);
      scanned += n;
      pool.clear();
      for (let i = 0; i < want; i++) {
        const r = m.rows[i];
        if (considered.has(r)) continue;
        considered.add(r);
        const off = b.offsets[r];
        if (allow && !allow(off)) continue;
        const err = p.qnorm * b.radius[r] + BOUND_EPS;
        pool.push(p.base + p.scale * m.dots[i] + p.slack + err, b.vids[r], off, r);
      }
      rescore(pool, q, this.vf, top, (r) => this.codec.score(p, b.codes, r) + p.qnorm * b.radius[r] + BOUND_EPS);
      if (want === n) return scanned;
      const restUpper = p.base + p.scale * m.dots[want - 1] + rest;
      if (top.size === top.k && restUpper < top.threshold - BOUND_EPS) return scanned;
      want = Math.min(n, want * 4);
    }
  }

  /** F16: every code scored, the pool cut at the k-th best lower bound, then re-scored. */
  private searchAll(q: Float32Array, top: TopK, allow?: (o: number) => boolean): number {
    const p = this.codec.prepare(q);
    const b = this.block;
    const n = b.size;
    const approx = new Float64Array(n);
    this.codec.scoreAll(p, b.codes, n, approx);
    const lower = new Float64Array(n);
    let m = 0;
    for (let r = 0; r < n; r++) {
      if (allow && !allow(b.offsets[r])) {
        approx[r] = NaN;
        continue;
      }
      lower[m++] = approx[r] - p.slack - p.qnorm * b.radius[r] - BOUND_EPS;
    }
    const cut = kthLargest(lower, m, top.k);
    const pool = new Pool();
    for (let r = 0; r < n; r++) {
      const up = approx[r] + p.slack + p.qnorm * b.radius[r] + BOUND_EPS;
      if (up >= cut) pool.push(up, b.vids[r], b.offsets[r]);
    }
    rescore(pool, q, this.vf, top);
    return n;
  }

  /** Writes the index (codes and float32 vectors) atomically; afterwards it re-scores from that file. */
  async save(path: string): Promise<void> {
    let crcs = { metaCrc: 0, vecCrc: 0, stateLen: 0 };
    let vecPos = 0;
    await writeAtomic(path, (w) => {
      w.write(new Uint8Array(HEADER_BYTES));
      crcs = writeBlocks(w, this.codec, [this.block], this.vf);
      vecPos = w.pos - this.size * this.dim * 4;
      w.writeAt(encodeHeader(MAGIC, VERSION, [this.dim, this.size, kindCode(this.codec.kind), 0, crcs.stateLen, crcs.metaCrc, crcs.vecCrc]), 0);
    });
    renumber([this.block]);
    this.vf.attach(path, vecPos, this.size);
  }

  /** Opens a saved index (reads the codes; the vectors stay in the file). INDEX_CORRUPT on any damage. */
  static async load(path: string, opts: CompressedFlatLoadOptions = {}): Promise<CompressedFlatIndex> {
    const r = new FileReader(path);
    try {
      const [dim, n, kind, m, stateLen, metaCrc, vecCrc] = decodeHeader(r.bytes(HEADER_BYTES, "header"), path, MAGIC, VERSION);
      if (dim < 1 || (kind !== 1 && kind !== 2)) throw corrupt(path, `invalid parameters (dim ${dim}, codec ${kind})`);
      const got = readBlocks(r, { kind, dim, m, stateLen, nblocks: 1, metaCrc, vecCrc, blockCrcs: false }, opts.verify ?? false);
      if (got.rows !== n) throw corrupt(path, `holds ${got.rows} vectors, header says ${n}`);
      const idx = new CompressedFlatIndex(dim, { codec: got.codec.kind as "sq8" | "f16", threads: opts.threads });
      (idx as { codec: Codec }).codec = got.codec;
      idx.block = got.blocks[0];
      idx.vf.attach(path, got.vecPos, n);
      return idx;
    } finally {
      r.close();
    }
  }

  private scanThreads(): number {
    if (this.threads > 0) return this.threads;
    return this.size * this.dim < 16 * 2 ** 20 ? 1 : Math.min(4, os.availableParallelism());
  }

  private removeOne(off: number, rowOf: Map<number, number>): void {
    const r = rowOf.get(off)!;
    rowOf.delete(off);
    const moved = this.block.removeRow(r);
    if (moved >= 0) rowOf.set(moved, r);
  }

  private rows(): Map<number, number> {
    if (!this.rowOf) {
      const m = new Map<number, number>();
      for (let r = 0; r < this.block.size; r++) m.set(this.block.offsets[r], r);
      this.rowOf = m;
    }
    return this.rowOf;
  }
}
