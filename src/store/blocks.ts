import { ClipdbError } from "../core/errors.js";
import zlib from "node:zlib";
import type { Db } from "./sqlite.js";
import type Database from "better-sqlite3";
import { slotCrcs } from "./schema.js";

/**
 * The vector storage of a store: table `vblocks`, where row `block` holds the vectors of offsets
 * [block * blockSize, (block + 1) * blockSize) as row-major float32 (platform order, which is
 * little-endian: Store.open refuses big-endian machines). A block's blob ends after its last
 * written slot. Which slots are live is decided by the items table, not here. Column `crcs` holds
 * a CRC32 per slot; every read checks the slots it returns (about 1 µs per 512-d vector), so a
 * damaged vector is STORE_CORRUPT naming its item, never a silent wrong score.
 *
 * All methods run inside the caller's transaction; none of them opens one.
 */
export class VectorBlocks {
  private readonly rowBytes: number;
  private readonly getBlock: Database.Statement<[number], [Buffer, Buffer | null]>;
  private readonly putBlock: Database.Statement<[number, Buffer, Buffer]>;
  private readonly delBlock: Database.Statement<[number]>;
  private readonly getSlot: Database.Statement<[number, number, number, number], [Buffer, Buffer | null]>;
  private readonly rangeBlocks: Database.Statement<[number, number], [number, Buffer, Buffer | null]>;

  /** `nameOf(offset)` names an item in error messages (its id). */
  constructor(
    db: Db,
    readonly dim: number,
    readonly blockSize: number,
    private readonly file: string,
    private readonly nameOf: (offset: number) => string | undefined = () => undefined,
  ) {
    this.rowBytes = dim * 4;
    this.getBlock = db.prepare<[number], [Buffer, Buffer | null]>("SELECT data, crcs FROM vblocks WHERE block = ?").raw();
    this.putBlock = db.prepare<[number, Buffer, Buffer]>("INSERT OR REPLACE INTO vblocks (block, data, crcs) VALUES (?, ?, ?)");
    this.delBlock = db.prepare<[number]>("DELETE FROM vblocks WHERE block = ?");
    this.getSlot = db.prepare<[number, number, number, number], [Buffer, Buffer | null]>("SELECT substr(data, ?, ?), substr(crcs, ?, 4) FROM vblocks WHERE block = ?").raw();
    this.rangeBlocks = db
      .prepare<[number, number], [number, Buffer, Buffer | null]>("SELECT block, data, crcs FROM vblocks WHERE block BETWEEN ? AND ? ORDER BY block")
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
      const pieceCrcs = slotCrcs(piece, rowBytes);
      let data: Buffer;
      let crcs: Buffer;
      if (old === undefined && slot === 0) {
        data = piece;
        crcs = pieceCrcs;
      } else {
        data = Buffer.alloc(Math.max(old?.[0].length ?? 0, (slot + count) * rowBytes));
        if (old !== undefined) old[0].copy(data);
        piece.copy(data, slot * rowBytes);
        crcs = Buffer.alloc((data.length / rowBytes) * 4);
        if (old !== undefined) (old[1] ?? slotCrcs(old[0], rowBytes)).copy(crcs);
        pieceCrcs.copy(crcs, slot * 4);
      }
      this.putBlock.run(block, data, crcs);
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
    for (const [block, data, crcs] of this.blocksOf(offsets, first, last)) {
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
        if (crcs) for (let s = i; s < j; s++) this.check(offsets[s], data.subarray(at + (s - i) * rowBytes, at + (s - i + 1) * rowBytes), crcs, (offsets[s] - lo) * 4);
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
  private *blocksOf(offsets: Uint32Array, first: number, last: number): Generator<[number, Buffer, Buffer | null]> {
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
      const row = this.getBlock.get(b);
      if (row !== undefined) yield [b, row[0], row[1]];
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
    const row = this.getSlot.get(at + 1, this.rowBytes, (offset - block * this.blockSize) * 4 + 1, block);
    if (row === undefined || row[0].length !== this.rowBytes) this.missing(offset);
    if (row[1] && row[1].length === 4) this.check(offset, row[0], row[1], 0);
    return row[0];
  }

  /** STORE_CORRUPT naming the item unless `bytes` match the CRC32 at `crcs[at..at+4)`. */
  private check(offset: number, bytes: Uint8Array, crcs: Buffer, at: number): void {
    if (at + 4 > crcs.length) return;
    if (zlib.crc32(bytes) >>> 0 === crcs.readUInt32LE(at)) return;
    const id = this.nameOf(offset);
    throw new ClipdbError("STORE_CORRUPT", {
      path: this.file,
      reason: `the stored vector of item ${id === undefined ? `at offset ${offset}` : `'${id}' (offset ${offset})`} fails its checksum (the file was damaged on disk)`,
      hint: `Remove the item${id === undefined ? "" : ` ('clipdb rm ${id}')`} and add it again, or restore the collection from a backup; other items are not affected.`,
    });
  }

  private missing(offset: number): never {
    throw new ClipdbError("STORE_CORRUPT", {
      path: this.file,
      reason: `the vector of live offset ${offset} is missing from its block`,
      hint: "Restore the collection from a backup, or remove and re-add the affected items.",
    });
  }
}
