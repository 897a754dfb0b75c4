import { ClipdbError } from "../core/errors.js";
import type { Db } from "./sqlite.js";
import type Database from "better-sqlite3";

/**
 * The vector storage of a store: table `vblocks`, where row `block` holds the vectors of offsets
 * [block * blockSize, (block + 1) * blockSize) as row-major float32 (platform order, which is
 * little-endian: Store.open refuses big-endian machines). A block's blob ends after its last
 * written slot. Which slots are live is decided by the items table, not here.
 *
 * All methods run inside the caller's transaction; none of them opens one.
 */
export class VectorBlocks {
  private readonly rowBytes: number;
  private readonly getBlock: Database.Statement<[number], Buffer>;
  private readonly putBlock: Database.Statement<[number, Buffer]>;
  private readonly delBlock: Database.Statement<[number]>;
  private readonly getSlot: Database.Statement<[number, number, number], Buffer>;
  private readonly rangeBlocks: Database.Statement<[number, number], [number, Buffer]>;

  constructor(
    db: Db,
    readonly dim: number,
    readonly blockSize: number,
    private readonly file: string,
  ) {
    this.rowBytes = dim * 4;
    this.getBlock = db.prepare<[number], Buffer>("SELECT data FROM vblocks WHERE block = ?").pluck();
    this.putBlock = db.prepare<[number, Buffer]>("INSERT OR REPLACE INTO vblocks (block, data) VALUES (?, ?)");
    this.delBlock = db.prepare<[number]>("DELETE FROM vblocks WHERE block = ?");
    this.getSlot = db.prepare<[number, number, number], Buffer>("SELECT substr(data, ?, ?) FROM vblocks WHERE block = ?").pluck();
    this.rangeBlocks = db
      .prepare<[number, number], [number, Buffer]>("SELECT block, data FROM vblocks WHERE block BETWEEN ? AND ? ORDER BY block")
      .raw();
  }

  /** Writes the n = xs.length / dim vectors of offsets start .. start + n - 1. */
  write(start: number, xs: Float32Array): void {
    const { rowBytes, blockSize } = this;
    const n = xs.length / this.dim;
    const src = Buffer.from(xs.buffer, xs.byteOffset, xs.byteLength);
    let i = 0;
    while (i < n) {
      const off = start + i;
      const block = Math.floor(off / blockSize);
      const slot = off - block * blockSize;
      const count = Math.min(n - i, blockSize - slot);
      const piece = src.subarray(i * rowBytes, (i + count) * rowBytes);
      const old = this.getBlock.get(block);
      let data: Buffer;
      if (old === undefined && slot === 0) {
        data = piece;
      } else {
        data = Buffer.alloc(Math.max(old?.length ?? 0, (slot + count) * rowBytes));
        if (old !== undefined) old.copy(data);
        piece.copy(data, slot * rowBytes);
      }
      this.putBlock.run(block, data);
      i += count;
    }
  }

  /**
   * After items were removed: deletes every block of `offsets` (ascending) in which
   * `anyLive(lo, hi)` finds no item left. Slots of removed items in blocks that stay are not
   * rewritten: nothing reads them (liveness comes from the items table and offsets are never
   * reused), and rewriting a whole block per removed item made a scattered remove of 1,000
   * items take 3 s at dim 512. Their bytes stay on disk until the block's last item goes.
   */
  dropDead(offsets: Uint32Array, anyLive: (lo: number, hi: number) => boolean): void {
    const { blockSize } = this;
    let prev = -1;
    for (let i = 0; i < offsets.length; i++) {
      const block = Math.floor(offsets[i] / blockSize);
      if (block === prev) continue;
      prev = block;
      const lo = block * blockSize;
      if (!anyLive(lo, lo + blockSize - 1)) this.delBlock.run(block);
    }
  }

  /**
   * Copies the vectors of `offsets` (strictly ascending, all live) into `out` (offsets.length * dim),
   * reading each block of their range once. Cost: one sequential pass over those blocks.
   */
  loadSorted(offsets: Uint32Array, out: Float32Array): void {
    const n = offsets.length;
    if (n === 0) return;
    const { rowBytes, blockSize } = this;
    const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    let i = 0;
    const first = Math.floor(offsets[0] / blockSize);
    const last = Math.floor(offsets[n - 1] / blockSize);
    for (const [block, data] of this.blocksOf(offsets, first, last)) {
      while (i < n && Math.floor(offsets[i] / blockSize) < block) this.missing(offsets[i]);
      const lo = block * blockSize;
      const hi = lo + blockSize;
      while (i < n && offsets[i] < hi) {
        // Copy a run of consecutive offsets (the usual case) with one set().
        let j = i + 1;
        while (j < n && offsets[j] < hi && offsets[j] === offsets[j - 1] + 1) j++;
        const at = (offsets[i] - lo) * rowBytes;
        const end = at + (j - i) * rowBytes;
        if (end > data.length) this.missing(Math.max(offsets[i], lo + Math.floor(data.length / rowBytes)));
        dst.set(data.subarray(at, end), i * rowBytes);
        i = j;
      }
    }
    if (i < n) this.missing(offsets[i]);
  }

  /**
   * The blocks holding `offsets` (ascending), in order: one range scan, or, when they fill less
   * than half of their range (say one modality added apart from the other), one read per block.
   */
  private *blocksOf(offsets: Uint32Array, first: number, last: number): Generator<[number, Buffer]> {
    const wanted: number[] = [];
    for (let i = 0; i < offsets.length; i++) {
      const b = Math.floor(offsets[i] / this.blockSize);
      if (wanted.length === 0 || wanted[wanted.length - 1] !== b) wanted.push(b);
    }
    if (wanted.length * 2 >= last - first + 1) {
      yield* this.rangeBlocks.iterate(first, last);
      return;
    }
    for (const b of wanted) {
      const data = this.getBlock.get(b);
      if (data !== undefined) yield [b, data];
    }
  }

  /**
   * Copies the vectors of `offsets` (any order, repeats allowed, all live) into `out`: one
   * slot read per offset, so a few scattered offsets cost a few small reads.
   */
  loadAny(offsets: ArrayLike<number>, out: Float32Array): void {
    const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < offsets.length; i++) dst.set(this.slotBytes(offsets[i]), i * this.rowBytes);
  }

  /** The vector of one live offset, as a new Float32Array. */
  readOne(offset: number): Float32Array {
    const out = new Float32Array(this.dim);
    new Uint8Array(out.buffer).set(this.slotBytes(offset));
    return out;
  }

  private slotBytes(offset: number): Buffer {
    const block = Math.floor(offset / this.blockSize);
    const at = (offset - block * this.blockSize) * this.rowBytes;
    const bytes = this.getSlot.get(at + 1, this.rowBytes, block);
    if (bytes === undefined || bytes.length !== this.rowBytes) this.missing(offset);
    return bytes;
  }

  private missing(offset: number): never {
    throw new ClipdbError("STORE_CORRUPT", {
      path: this.file,
      reason: `the vector of live offset ${offset} is missing from its block`,
      hint: "Run a verify, then restore from a backup or re-add the affected items.",
    });
  }
}
