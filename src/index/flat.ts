/**
 * Exact kNN: one contiguous block of vectors scanned by the SIMD kernel. Also the quantizer of IVF.
 */
import { GATHER_COST, scanListed } from "../core/cost.js";
import os from "node:os";
import { ClipdbError } from "../core/errors.js";
import { TopK, type Hits } from "../core/topk.js";
import type { SearchOptions, VectorIndex } from "../core/types.js";
import { RowGather, VectorBlock } from "./block.js";
import { checkBatch, checkK, checkOffsets, checkQuery, noHits } from "./checks.js";
import { FileReader, corrupt, writeAtomic, type FileWriter } from "./fileio.js";
import { HEADER_BYTES, decodeHeader, encodeHeader } from "./header.js";
import { nearestRows } from "./kernel.js";

/** Options of a FlatIndex. */
export interface FlatOptions {
  /**
   * Native threads per search; default 0 = auto: 1 thread while the vectors take under 16 MiB
   * (thread start-up would cost more than it saves), else min(4, available cores). Measured on the
   * 2-core dev VM at 1M x 512: 248 ms with 1 thread, 159 ms with 2 (one core's f64-accumulating
   * kernel cannot keep up with memory). Use 1 when many processes search at once.
   */
  threads?: number;
}

/** Vector bytes from which an auto-threaded scan uses more than one thread. */
const AUTO_THREADS_BYTES = 16 * 2 ** 20;

const MAGIC = "CLIPFLAT";
const VERSION = 1;

/**
 * Exact inner-product index (Faiss `IndexFlatIP`). Vectors live in one contiguous Float32Array
 * that grows by doubling; `remove` moves the last row into the hole. A search scans every vector
 * with usearch's SIMD `exactSearch` and returns exact float64 scores, ties broken by smaller
 * offset (see `scanBlock`). Cost: O(n * dim) per query, memory n * dim * 4 bytes (plus an
 * offset-to-row map, built on the first add/remove/candidate search).
 *
 * File format (`save`): 64-byte header (magic CLIPFLAT, version, dim, n, CRC32 of the payload),
 * then n u32 offsets, then n * dim f32 vectors.
 */
export class FlatIndex implements VectorIndex {
  readonly metric = "ip" as const;
  readonly isTrained = true;
  /** Native threads per search, 0 = auto (see FlatOptions); may be changed between searches. */
  threads: number;
  private block: VectorBlock;
  private rowOf: Map<number, number> | null = null;

  /** `dim`: vector dimension (a positive integer). */
  constructor(
    readonly dim: number,
    opts: FlatOptions = {},
  ) {
    if (!Number.isInteger(dim) || dim < 1) throw new ClipdbError("INVALID_ARGUMENT", { name: "dim", reason: `must be a positive integer, got ${dim}` });
    this.threads = opts.threads ?? 0;
    this.block = new VectorBlock(dim);
  }

  /** Number of vectors held. */
  get size(): number {
    return this.block.size;
  }

  /** Resident bytes of the live rows: dim * 4 + 4 per vector (not the offset map, nor spare capacity). */
  get residentBytes(): number {
    return this.size * (this.dim * 4 + 4);
  }

  /** No-op: a flat index needs no training. */
  train(_xs: Float32Array): void {}

  /** Adds vectors (n * dim); an offset already present is overwritten in place. O(n * dim). */
  add(offsets: Uint32Array, xs: Float32Array): void {
    checkBatch(offsets, xs, this.dim);
    const rowOf = this.rows();
    this.block.reserve(this.block.size + offsets.length, offsets.length > this.block.size);
    for (let i = 0; i < offsets.length; i++) {
      const off = offsets[i];
      const r = rowOf.get(off);
      if (r === undefined) rowOf.set(off, this.block.append(off, xs, i));
      else this.block.overwrite(r, xs, i);
    }
  }

  /** Removes offsets (unknown ones are ignored). O(dim) each: the last row fills the hole. */
  remove(offsets: Uint32Array): void {
    checkOffsets(offsets);
    const rowOf = this.rows();
    for (const off of offsets) {
      const r = rowOf.get(off);
      if (r === undefined) continue;
      rowOf.delete(off);
      const moved = this.block.removeRow(r);
      if (moved >= 0) rowOf.set(moved, r);
    }
  }

  /** Offsets held, in storage order. */
  offsets(): Uint32Array {
    return this.block.offsets.slice(0, this.size);
  }

  /** True when `offset` is held. */
  has(offset: number): boolean {
    return this.rows().has(offset);
  }

  /** A copy of the vector stored under `offset`, or undefined. */
  vector(offset: number): Float32Array | undefined {
    const r = this.rows().get(offset);
    return r === undefined ? undefined : this.block.row(r).slice();
  }

  /**
   * Exact top-k by inner product, best first, ties by smaller offset; `scanned` = vectors scored.
   * Filters (`opts.filter`): with a list of at most max(4096, n/4) offsets (core/cost.ts) only those rows are gathered and
   * scanned; otherwise the whole index is scanned with the filter applied (see `scanBlock`:
   * over-fetch, then a gather of the allowed rows when few pass). Either way exactly
   * min(k, allowed) results come back.
   */
  search(q: Float32Array, k: number, opts: SearchOptions = {}): Hits {
    checkK(k);
    const qq = checkQuery(q, this.dim);
    if (k === 0 || this.size === 0) return noHits();
    const top = new TopK(Math.min(k, this.size));
    const f = opts.filter;
    let scanned: number;
    if (f?.list && scanListed(f.list.length, this.size / GATHER_COST)) {
      scanned = this.scanCandidates(qq, top, f.list, f.tests ? (o) => f.test(o) : undefined);
    } else {
      scanned = this.block.scan(qq, top, { allow: f && ((o) => f.has(o)), threads: this.scanThreads(this.size) });
    }
    return { ...top.result(), scanned };
  }

  /**
   * Exact scan of just the listed offsets (sorted and unique, as an OffsetFilter's list is;
   * unknown ones and those `allow` rejects are skipped). Cost O(|candidates| * dim): the rows are
   * copied into one block and scanned by the kernel.
   */
  scanCandidates(q: Float32Array, top: TopK, candidates: Uint32Array, allow?: (o: number) => boolean): number {
    const rowOf = this.rows();
    const g = new RowGather(this.dim, candidates.length);
    for (const off of candidates) {
      const r = rowOf.get(off);
      if (r === undefined || (allow && !allow(off))) continue;
      g.add(this.block.data, r, off);
    }
    return g.scan(q, top, this.scanThreads(g.size));
  }

  /**
   * For each of the n query rows of `xs`, the offsets of the `want` nearest stored vectors (best
   * first): the batched int8 pre-selection plus exact re-rank of `nearestRows`. Used as the IVF
   * quantizer's assignment. `threads`: default 0 = all cores. Returns n * min(want, size) offsets.
   */
  assign(xs: Float32Array, want: number, threads = 0): Uint32Array {
    const nq = xs.length / this.dim;
    const rows = nearestRows(this.block.data, this.size, this.dim, xs, nq, want, threads);
    for (let i = 0; i < rows.length; i++) rows[i] = this.block.offsets[rows[i]];
    return rows;
  }

  /** Writes the index to `path` atomically (temp file, fsync, rename). */
  async save(path: string): Promise<void> {
    await writeAtomic(path, (w) => this.writeSection(w));
  }

  /** Opens an index written by `save`. Corrupt, truncated or foreign files: INDEX_CORRUPT. */
  static async load(path: string, opts: FlatOptions = {}): Promise<FlatIndex> {
    const r = new FileReader(path);
    try {
      const idx = await FlatIndex.readSection(r, opts, true);
      if (r.pos !== r.size) throw corrupt(path, `${r.size - r.pos} unexpected bytes after the data`);
      return idx;
    } finally {
      r.close();
    }
  }

  /** Writes header and payload at the writer's position (also used inside HNSW files). */
  writeSection(w: FileWriter): void {
    const n = this.size;
    const start = w.pos;
    w.write(new Uint8Array(HEADER_BYTES));
    w.startCrc();
    w.write(this.block.offsets.subarray(0, n));
    w.write(this.block.data.subarray(0, n * this.dim));
    w.writeAt(encodeHeader(MAGIC, VERSION, [this.dim, n, w.crc]), start);
  }

  /**
   * Reads and checks just the header of a section at the reader's position (the position is left
   * unchanged): dimension, vector count and total section bytes.
   */
  static peekSection(r: FileReader): { dim: number; n: number; bytes: number } {
    const at = r.pos;
    const [dim, n] = decodeHeader(r.bytes(HEADER_BYTES, "header"), r.file, MAGIC, VERSION);
    r.pos = at;
    if (dim < 1) throw corrupt(r.file, `invalid dimension ${dim}`);
    return { dim, n, bytes: HEADER_BYTES + n * 4 + n * dim * 4 };
  }

  /**
   * Reads a section written by `writeSection` at the reader's position. With `async`, the vectors
   * are read with overlapped I/O and checksumming (see `FileReader.readIntoAsync`).
   */
  static readSection(r: FileReader, opts?: FlatOptions): FlatIndex;
  static readSection(r: FileReader, opts: FlatOptions, async: true): Promise<FlatIndex>;
  static readSection(r: FileReader, opts: FlatOptions = {}, async = false): FlatIndex | Promise<FlatIndex> {
    const [dim, n, crc] = decodeHeader(r.bytes(HEADER_BYTES, "header"), r.file, MAGIC, VERSION);
    if (dim < 1) throw corrupt(r.file, `invalid dimension ${dim}`);
    r.need(n * 4 + n * dim * 4, `${n} vectors of dimension ${dim}`);
    const idx = new FlatIndex(dim, opts);
    const b = VectorBlock.sized(dim, n);
    r.startCrc();
    r.readInto(b.offsets, "offsets");
    const finish = (): FlatIndex => {
      if (r.crc !== crc) throw corrupt(r.file, "payload checksum mismatch");
      idx.block = b;
      return idx;
    };
    if (async) return r.readIntoAsync(b.data, "vectors").then(finish);
    r.readInto(b.data, "vectors");
    return finish();
  }

  /** Threads for a scan of `rows` rows (resolves threads = 0, auto). */
  private scanThreads(rows: number): number {
    if (this.threads > 0) return this.threads;
    return rows * this.dim * 4 < AUTO_THREADS_BYTES ? 1 : Math.min(4, os.availableParallelism());
  }

  /** The offset-to-row map, built on first use (a loaded index does not pay for it until needed). */
  private rows(): Map<number, number> {
    if (!this.rowOf) {
      const m = new Map<number, number>();
      const offs = this.block.offsets;
      for (let r = 0; r < this.block.size; r++) m.set(offs[r], r);
      this.rowOf = m;
    }
    return this.rowOf;
  }
}
