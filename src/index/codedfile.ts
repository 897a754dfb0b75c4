/**
 * The shared part of the compressed index files (Flat,SQ8 / Flat,F16 and IVF with SQ8, SQ4, F16
 * or PQ lists): the codec's state, then the blocks (sizes, [per-block code CRC32s], offsets,
 * radii, codes), then every row's float32 vector in block order, which is where searches re-score
 * from (positional reads; see VectorFile). The vectors have their own CRC32, checked by
 * `load(path, { verify: true })` (reading them all would defeat opening in O(codes)).
 *
 * Two layouts: without block CRCs (Flat files, and IVF files of format version 1) one CRC32 covers
 * everything before the vectors and the codes are read on open. With block CRCs (IVF version 2)
 * the CRC32 covers state, sizes, block CRCs, offsets and radii, and each block's codes are checked
 * against their own CRC32 when they are read, so an IVF index can open lazily: at 5M x SQ4 the
 * codes are 1.3 GB, which an eager open spends seconds of reads and page faults on.
 */
import { ClipdbError } from "../core/errors.js";
import { CodeBlock } from "./codeblock.js";
import type { Codec, CodecKind } from "./codec.js";
import { F16Codec } from "./f16.js";
import { FileReader, PendingSections, corrupt, crc32, type FileWriter } from "./fileio.js";
import { FlatIndex } from "./flat.js";
import { HEADER_BYTES, decodeHeader, magicOf, versionOf } from "./header.js";
import { PqCodec } from "./pq.js";
import { Sq4Codec } from "./sq4.js";
import { Sq8Codec } from "./sq8.js";
import type { VectorFile } from "./vecfile.js";

const KINDS: CodecKind[] = ["sq8", "f16", "pq", "sq4"];

/** A new codec: "sq8", "sq4", "f16" or "pq" (with `m` sub-quantisers). */
export function makeCodec(kind: CodecKind, dim: number, m = 0): Codec {
  if (kind === "sq8") return new Sq8Codec(dim);
  if (kind === "sq4") return new Sq4Codec(dim);
  if (kind === "f16") return new F16Codec(dim);
  if (kind === "pq") return new PqCodec(dim, m);
  throw new ClipdbError("INVALID_ARGUMENT", { name: "codec", reason: `unknown codec ${String(kind)}`, hint: "Use SQ8, SQ4, F16 or PQ<m>." });
}

/** Header code of a codec kind (sq8 1, f16 2, pq 3, sq4 4). */
export function kindCode(kind: CodecKind): number {
  return KINDS.indexOf(kind) + 1;
}

/**
 * Writes state, blocks and vectors (`blockCrcs`: the layout with a CRC32 per block's codes; every
 * block's codes must be in RAM); returns the CRC32s of the metadata and of the vectors.
 */
export function writeBlocks(w: FileWriter, codec: Codec, blocks: CodeBlock[], vf: VectorFile, blockCrcs = false): { metaCrc: number; vecCrc: number; stateLen: number } {
  const state = codec.state();
  w.startCrc();
  w.write(state);
  w.write(Uint32Array.from(blocks, (b) => b.size));
  if (blockCrcs) w.write(Uint32Array.from(blocks, (b) => crc32(b.codes.subarray(0, b.size * b.codeBytes))));
  for (const b of blocks) w.write(b.offsets.subarray(0, b.size));
  for (const b of blocks) w.write(b.radius.subarray(0, b.size));
  let metaCrc = w.crc;
  let codeBytes = 0;
  for (const b of blocks) {
    w.write(b.codes.subarray(0, b.size * b.codeBytes));
    codeBytes += b.size * b.codeBytes;
  }
  if (codeBytes % 4) w.write(new Uint8Array(4 - (codeBytes % 4)));
  if (!blockCrcs) metaCrc = w.crc;
  w.startCrc();
  const dim = vf.dim;
  const per = Math.max(1, Math.floor((4 << 20) / (dim * 4)));
  const buf = new Float32Array(per * dim);
  let k = 0;
  for (const b of blocks) {
    for (let r = 0; r < b.size; r++) {
      vf.read(b.vids[r], buf.subarray(k * dim, (k + 1) * dim));
      if (++k === per) {
        w.write(buf);
        k = 0;
      }
    }
  }
  if (k > 0) w.write(buf.subarray(0, k * dim));
  return { metaCrc, vecCrc: w.crc, stateLen: state.length };
}

/** Points every block's vector ids at the rows of a file written by `writeBlocks` (block order). */
export function renumber(blocks: CodeBlock[]): number {
  let id = 0;
  for (const b of blocks) for (let r = 0; r < b.size; r++) b.vids[r] = id++;
  return id;
}

/** What `readBlocks` found. */
export interface ReadBlocks {
  codec: Codec;
  /** The blocks (with `lazy`, their codes are empty until `pending.load`). */
  blocks: CodeBlock[];
  /** Codes still in the file (a lazy read), else null. It owns the reader then. */
  pending: PendingCodes | null;
  /** Byte position of the float32 vectors. */
  vecPos: number;
  rows: number;
}

/** What a compressed file's header says about its blocks (see `readBlocks`). */
export interface BlocksHeader {
  kind: number;
  dim: number;
  m: number;
  stateLen: number;
  nblocks: number;
  metaCrc: number;
  vecCrc: number;
  /** The layout with a CRC32 per block's codes. */
  blockCrcs: boolean;
}

/**
 * Reads state and blocks at the reader's position (after the caller's header and sections),
 * checks the metadata CRC32 and the file size, and, with `verify`, the vectors' CRC32. `lazy`
 * (block-CRC layout only): leave the codes in the file, to be read per block on first use through
 * the returned `pending`, which then owns (and eventually closes) the reader.
 */
export function readBlocks(r: FileReader, h: BlocksHeader, verify: boolean, lazy = false): ReadBlocks {
  const kind = KINDS[h.kind - 1];
  if (!kind) throw corrupt(r.file, `unknown codec ${h.kind}`);
  if (kind === "pq" && (h.m < 1 || h.dim % h.m !== 0)) throw corrupt(r.file, `invalid PQ m ${h.m} for dimension ${h.dim}`);
  r.startCrc();
  r.need(h.stateLen * 4 + h.nblocks * 4, "codec state");
  const state = new Float32Array(h.stateLen);
  r.readInto(state, "codec state");
  const codec = kind === "sq8" ? Sq8Codec.fromState(h.dim, state) : kind === "sq4" ? Sq4Codec.fromState(h.dim, state) : kind === "f16" ? F16Codec.fromState(h.dim, state) : PqCodec.fromState(h.dim, h.m, state);
  if (codec.state().length !== h.stateLen) throw corrupt(r.file, "codec state has the wrong length");
  const sizes = new Uint32Array(h.nblocks);
  r.readInto(sizes, "block sizes");
  const crcs = h.blockCrcs ? new Uint32Array(h.nblocks) : null;
  if (crcs) r.readInto(crcs, "block checksums");
  let rows = 0;
  for (const s of sizes) rows += s;
  const cb = codec.codeBytes;
  const codeBytes = rows * cb;
  const pad = codeBytes % 4 ? 4 - (codeBytes % 4) : 0;
  const vecPos = r.pos + rows * 8 + codeBytes + pad;
  const end = vecPos + rows * h.dim * 4;
  if (r.size < end) throw corrupt(r.file, `truncated: vectors end at byte ${end}, file has ${r.size}`);
  if (r.size > end) throw corrupt(r.file, `${r.size - end} unexpected bytes after the data`);
  // With block CRCs the codes are read per block below (now or lazily), into arrays of their own.
  const blocks = Array.from(sizes, (s) => {
    const b = new CodeBlock(cb, s, !crcs);
    b.size = s;
    return b;
  });
  for (const b of blocks) r.readInto(b.offsets, "offsets");
  for (const b of blocks) r.readInto(b.radius, "radii");
  if (crcs && r.crc !== h.metaCrc) throw corrupt(r.file, "checksum mismatch in the block directory");
  renumber(blocks);
  let pending: PendingCodes | null = null;
  if (crcs) {
    const pos = new Float64Array(h.nblocks);
    let at = r.pos;
    blocks.forEach((b, i) => {
      pos[i] = at;
      at += b.size * cb;
    });
    // Lazy: the pending codes own the reader from here on. Eager: read them all now, the caller keeps it.
    const codes = new PendingCodes(r, pos, crcs, cb, lazy);
    if (lazy) pending = codes;
    else blocks.forEach((b, i) => codes.load(i, b));
    r.pos = vecPos;
  } else {
    for (const b of blocks) r.readInto(b.codes, "codes");
    if (pad) r.bytes(pad, "padding");
    if (r.crc !== h.metaCrc) throw corrupt(r.file, "checksum mismatch in the codes");
  }
  if (verify) {
    const chunk = new Uint8Array(1 << 24);
    r.startCrc();
    for (let at = vecPos; at < end; at += chunk.length) r.readInto(chunk.subarray(0, Math.min(chunk.length, end - at)), "vectors");
    if (r.crc !== h.vecCrc) throw corrupt(r.file, "checksum mismatch in the float32 vectors");
  }
  r.pos = end;
  return { codec, blocks, pending, vecPos, rows };
}

/**
 * Codes of blocks still in the file after a lazy `readBlocks` (see PendingSections).
 * `load(i, block)` reads block i's codes and checks their CRC32.
 */
export class PendingCodes extends PendingSections {
  constructor(
    r: FileReader,
    pos: Float64Array,
    crcs: Uint32Array,
    private readonly codeBytes: number,
    ownsReader = true,
  ) {
    super(r, pos, crcs, ownsReader);
  }

  /** Reads and checks block `i`'s codes into `block` (its size, offsets and radii are set). */
  load(i: number, block: CodeBlock): void {
    if (!this.isPending(i)) return;
    const codes = new Uint8Array(Math.max(block.capacity, block.size) * this.codeBytes);
    this.readSection(i, codes.subarray(0, block.size * this.codeBytes), `codes of list ${i}`);
    block.codes = codes;
  }
}

/** Closes the file of a lazily opened compressed index that is garbage-collected. */
export const pendingCodesCloser = new FinalizationRegistry<PendingCodes>((p) => p.close());

/**
 * Checks a compressed index file's header and size without reading its codes (for status
 * reports): INDEX_CORRUPT when it is truncated, padded or its header is damaged.
 */
export function checkCompressedFile(path: string): void {
  compressedLayout(path);
}

/**
 * Bytes a compressed index takes in RAM once opened, from its header alone: codes plus 12 bytes
 * per vector, the centroids and the codec state (the float32 vectors stay in the file).
 */
export function compressedResidentBytes(path: string): number {
  return compressedLayout(path).resident;
}

/** Checks the header and size of a compressed index file; returns what it keeps in RAM when opened. */
function compressedLayout(path: string): { resident: number } {
  const r = new FileReader(path);
  try {
    const head = r.bytes(HEADER_BYTES, "header");
    const flat = magicOf(head) === "CLIPQFLT";
    const version = versionOf(head);
    const f = decodeHeader(head, path, flat ? "CLIPQFLT" : "CLIPQIVF", flat ? 1 : [1, 2]);
    const [dim, blocks, rows, kind, m, stateLen] = flat ? [f[0], 1, f[1], f[2], f[3], f[4]] : [f[0], f[1], f[3], f[4], f[5], f[7]];
    let at = HEADER_BYTES;
    if (!flat) at += FlatIndex.peekSection(Object.assign(r, { pos: at })).bytes;
    const cb = kind === 1 ? dim : kind === 2 ? 2 * dim : kind === 4 ? Math.ceil(dim / 2) : m;
    if (cb < 1 || kind < 1 || kind > KINDS.length) throw corrupt(path, `invalid codec ${kind}`);
    const codes = rows * cb;
    const end = at + stateLen * 4 + blocks * (!flat && version >= 2 ? 8 : 4) + rows * 8 + codes + (codes % 4 ? 4 - (codes % 4) : 0) + rows * dim * 4;
    if (r.size !== end) throw corrupt(path, `${r.size < end ? "truncated" : "unexpected bytes"}: the file has ${r.size} bytes, its header says ${end}`);
    return { resident: rows * (cb + 12) + (flat ? 0 : 2 * blocks * dim * 4) + stateLen * 4 };
  } finally {
    r.close();
  }
}
