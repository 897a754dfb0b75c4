/**
 * Where a compressed index keeps its float32 vectors for re-scoring: not in RAM, but in its own
 * saved file, read by positional reads (`pread`; the OS page cache holds the hot ones, and that
 * memory is not this process's heap). Vectors added since the last save wait in a RAM tail until
 * the next save writes them into the file. Ids: `[0, fileRows)` are file rows, then the tail.
 */
import fs from "node:fs";
import { dot } from "../core/vectors.js";
import { VectorBlock } from "./block.js";
import { corrupt } from "./fileio.js";

/** float32 vectors by id: file rows read on demand, plus a RAM tail of unsaved ones. */
export class VectorFile {
  private fd = -1;
  private file = "";
  private at = 0;
  private fileRows = 0;
  private tail: VectorBlock;
  private readonly buf: Float32Array;
  private readonly bytes: Uint8Array;
  /** Vectors read from the file so far (for benchmarks: each is one pread of dim * 4 bytes). */
  reads = 0;

  constructor(readonly dim: number) {
    this.tail = new VectorBlock(dim);
    this.buf = new Float32Array(dim);
    this.bytes = new Uint8Array(this.buf.buffer);
  }

  /** Ids in use (file rows plus tail rows). */
  get rows(): number {
    return this.fileRows + this.tail.size;
  }

  /** Bytes held in RAM (the unsaved tail). */
  get residentBytes(): number {
    return this.tail.size * this.dim * 4;
  }

  /**
   * Serves ids `[0, rows)` from `file` at byte `at` (rows * dim * 4 bytes, row-major) and drops
   * the RAM tail; the previous file, if any, is closed. The descriptor pins the file, so replacing
   * the path later (atomic rename) does not change what is read.
   */
  attach(file: string, at: number, rows: number): void {
    const fd = fs.openSync(file, "r");
    this.close();
    this.fd = fd;
    this.file = file;
    this.at = at;
    this.fileRows = rows;
    this.tail = new VectorBlock(this.dim);
  }

  /** Appends row `i` of `xs` to the RAM tail; returns its id. */
  append(xs: Float32Array, i: number): number {
    this.tail.append(0, xs, i);
    return this.fileRows + this.tail.size - 1;
  }

  /** Vector `id` into `out` (a scratch copy is returned when `out` is omitted; valid until the next read). */
  read(id: number, out: Float32Array = this.buf): Float32Array {
    if (id >= this.fileRows) {
      out.set(this.tail.row(id - this.fileRows));
      return out;
    }
    const n = this.dim * 4;
    const b = out === this.buf ? this.bytes : new Uint8Array(out.buffer, out.byteOffset, n);
    const got = fs.readSync(this.fd, b, 0, n, this.at + id * n);
    if (got !== n) throw corrupt(this.file, `truncated: vector ${id} is past the end of the file`);
    this.reads++;
    return out;
  }

  /** Exact inner product (float64 accumulation) of vector `id` with `q`. */
  dot(id: number, q: Float32Array): number {
    if (id >= this.fileRows) return dot(this.tail.data, q, this.dim, (id - this.fileRows) * this.dim, 0);
    return dot(this.read(id), q, this.dim, 0, 0);
  }

  /** Releases the file descriptor. */
  close(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
    this.fd = -1;
  }
}

/** Closes the file of a compressed index that is garbage-collected. */
export const vectorFileCloser = new FinalizationRegistry<VectorFile>((v) => v.close());
