/**
 * Where a compressed index keeps its float32 vectors for re-scoring: not in RAM, but in its own
 * saved file, read by positional reads (`pread`; the OS page cache holds the hot ones, and that
 * memory is not this process's heap). Vectors added since the last save wait in a RAM tail until
 * the next save writes them into the file; once the tail reaches `spillBytes` (default 256 MiB)
 * it moves to an unnamed scratch file, so building a 5M-vector index does not hold 10 GB of
 * float32 in RAM. Ids: `[0, fileRows)` are file rows, then the scratch rows, then the tail.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { dot } from "../core/vectors.js";
import { VectorBlock } from "./block.js";
import { corrupt, diskFull, tempPathFor } from "./fileio.js";

/** Default RAM tail before unsaved vectors move to a scratch file: 256 MiB. */
export const SPILL_BYTES = 256 * 2 ** 20;

/** Options of a VectorFile. */
export interface VectorFileOptions {
  /** RAM tail size (bytes) at which unsaved vectors move to a scratch file; default SPILL_BYTES. */
  spillBytes?: number;
  /** Folder of the scratch file; default os.tmpdir(). The file is unlinked as soon as it is open. */
  spillDir?: string;
}

/** float32 vectors by id: file rows read on demand, plus a RAM tail of unsaved ones. */
export class VectorFile {
  private fd = -1;
  private file = "";
  private at = 0;
  private fileRows = 0;
  private tail: VectorBlock;
  private spillFd = -1;
  private spillRows = 0;
  private readonly spillBytes: number;
  private readonly spillDir: string;
  private readonly buf: Float32Array;
  private readonly bytes: Uint8Array;
  /** Vectors read from the file so far (for benchmarks: each is one pread of dim * 4 bytes). */
  reads = 0;

  constructor(
    readonly dim: number,
    opts: VectorFileOptions = {},
  ) {
    this.tail = new VectorBlock(dim);
    this.buf = new Float32Array(dim);
    this.bytes = new Uint8Array(this.buf.buffer);
    this.spillBytes = opts.spillBytes ?? SPILL_BYTES;
    this.spillDir = opts.spillDir ?? os.tmpdir();
  }

  /** Ids in use (file rows, scratch rows and tail rows). */
  get rows(): number {
    return this.fileRows + this.spillRows + this.tail.size;
  }

  /** Unsaved vectors that moved from RAM to the scratch file. */
  get spilled(): number {
    return this.spillRows;
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

  /** Appends row `i` of `xs` to the RAM tail (moving a full tail to the scratch file first); returns its id. */
  append(xs: Float32Array, i: number): number {
    if (this.tail.size > 0 && this.tail.size * this.dim * 4 >= this.spillBytes) this.spill();
    this.tail.append(0, xs, i);
    return this.fileRows + this.spillRows + this.tail.size - 1;
  }

  /** Writes the RAM tail at the end of the scratch file (created unnamed on first use) and empties it. */
  private spill(): void {
    if (this.spillFd < 0) {
      const p = tempPathFor(path.join(this.spillDir, "clipdb-vectors"));
      this.spillFd = fs.openSync(p, "wx+", 0o600);
      fs.rmSync(p, { force: true });
    }
    const n = this.tail.size * this.dim * 4;
    const b = new Uint8Array(this.tail.data.buffer, this.tail.data.byteOffset, n);
    try {
      for (let done = 0; done < n; ) done += fs.writeSync(this.spillFd, b, done, n - done, this.spillRows * this.dim * 4 + done);
    } catch (e) {
      throw diskFull(e, this.spillDir);
    }
    this.spillRows += this.tail.size;
    this.tail = new VectorBlock(this.dim);
  }

  /** Vector `id` into `out` (a scratch copy is returned when `out` is omitted; valid until the next read). */
  read(id: number, out: Float32Array = this.buf): Float32Array {
    const t = id - this.fileRows - this.spillRows;
    if (t >= 0) {
      out.set(this.tail.row(t));
      return out;
    }
    const n = this.dim * 4;
    const b = out === this.buf ? this.bytes : new Uint8Array(out.buffer, out.byteOffset, n);
    const spilled = id >= this.fileRows;
    const got = spilled ? fs.readSync(this.spillFd, b, 0, n, (id - this.fileRows) * n) : fs.readSync(this.fd, b, 0, n, this.at + id * n);
    if (got !== n) throw corrupt(spilled ? "(scratch vector file)" : this.file, `truncated: vector ${id} is past the end of the file`);
    this.reads++;
    return out;
  }

  /** Exact inner product (float64 accumulation) of vector `id` with `q`. */
  dot(id: number, q: Float32Array): number {
    const t = id - this.fileRows - this.spillRows;
    if (t >= 0) return dot(this.tail.data, q, this.dim, t * this.dim, 0);
    return dot(this.read(id), q, this.dim, 0, 0);
  }

  /** Releases the file descriptors (the scratch file's space goes back to the OS with it). */
  close(): void {
    for (const fd of [this.fd, this.spillFd]) {
      if (fd < 0) continue;
      try {
        fs.closeSync(fd);
      } catch {
        // Already closed.
      }
    }
    this.fd = -1;
    this.spillFd = -1;
    this.spillRows = 0;
  }
}

/** Closes the file of a compressed index that is garbage-collected. */
export const vectorFileCloser = new FinalizationRegistry<VectorFile>((v) => v.close());
