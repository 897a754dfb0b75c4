/**
 * The IVF file format and its lazy reader.
 *
 * Layout (little-endian): 64-byte header (magic CLIP_IVF, version, dim, nlist, spill, nprobe,
 * count, CRC32 of the directory and offsets), the quantizer as a Flat section, the directory
 * (nlist list sizes, then nlist CRC32s of each list's vectors), every list's offsets (u32), then
 * every list's vectors (f32), list after list.
 *
 * Opening reads everything except the vectors (a few MB at 1M vectors) and checks the file size,
 * so a truncated file fails at once. Each list's vectors are read on first use and checked
 * against their own CRC32: on this VM, reading 2 GB into fresh memory costs about 2 s of page
 * faults alone, which a lazy open does not pay before the first answer.
 */
import { VectorBlock, allocFloats } from "./block.js";
import { FileReader, PendingSections, corrupt, crc32, type FileWriter } from "./fileio.js";
import { FlatIndex } from "./flat.js";
import { HEADER_BYTES, decodeHeader, encodeHeader } from "./header.js";

const MAGIC = "CLIP_IVF";
const VERSION = 1;

/** Parameters stored in an IVF file header. */
export interface IvfHeader {
  dim: number;
  nlist: number;
  spill: number;
  nprobe: number;
  count: number;
  /**
   * How the lists were trained: "none" (k-means on the vectors) or "query" (query-aware lists,
   * `train(xs, { queries })`). Stored as the header's 7th field (0 or 1); files written before it
   * existed hold 0 there, so they read as "none".
   */
  route: "none" | "query";
}

/** Writes an IVF file (see the module TSDoc) through `w`; `lists` must be fully loaded. */
export function writeIvf(w: FileWriter, h: IvfHeader, quantizer: FlatIndex, lists: VectorBlock[]): void {
  w.write(new Uint8Array(HEADER_BYTES));
  quantizer.writeSection(w);
  const sizes = Uint32Array.from(lists, (l) => l.size);
  const crcs = Uint32Array.from(lists, (l) => crc32(l.data.subarray(0, l.size * h.dim)));
  w.startCrc();
  w.write(sizes);
  w.write(crcs);
  for (const l of lists) w.write(l.offsets.subarray(0, l.size));
  const metaCrc = w.crc;
  for (const l of lists) w.write(l.data.subarray(0, l.size * h.dim));
  w.writeAt(encodeHeader(MAGIC, VERSION, [h.dim, h.nlist, h.spill, h.nprobe, h.count, metaCrc, h.route === "query" ? 1 : 0]), 0);
}

/** An opened IVF file: header, quantizer, lists (offsets loaded, vectors pending) and the reader. */
export interface OpenedIvf {
  header: IvfHeader;
  quantizer: FlatIndex;
  lists: VectorBlock[];
  pending: PendingLists;
}

/** Opens an IVF file; every structural problem is INDEX_CORRUPT naming the path. */
export function openIvf(path: string): OpenedIvf {
  const r = new FileReader(path);
  try {
    const [dim, nlist, spill, nprobe, count, metaCrc, routeCode] = decodeHeader(r.bytes(HEADER_BYTES, "header"), path, MAGIC, VERSION);
    if (routeCode > 1) throw corrupt(path, `unknown list route ${routeCode}`);
    if (dim < 1 || nlist < 1 || spill < 1 || spill > nlist || nprobe < 1) throw corrupt(path, `invalid parameters (dim ${dim}, nlist ${nlist}, spill ${spill})`);
    const quantizer = FlatIndex.readSection(r);
    if (quantizer.dim !== dim || (quantizer.size !== 0 && quantizer.size !== nlist)) throw corrupt(path, "quantizer does not match the header");
    r.startCrc();
    const sizes = new Uint32Array(nlist);
    const crcs = new Uint32Array(nlist);
    r.readInto(sizes, "list sizes");
    r.readInto(crcs, "list checksums");
    let stored = 0;
    for (const s of sizes) stored += s;
    if (stored < count || stored > count * spill) throw corrupt(path, `list sizes (${stored} entries) do not match ${count} vectors`);
    const offsets = new Uint32Array(stored);
    r.readInto(offsets, "list offsets");
    if (r.crc !== metaCrc) throw corrupt(path, "directory checksum mismatch");
    const end = r.pos + stored * dim * 4;
    if (r.size < end) throw corrupt(path, `truncated: vectors end at byte ${end}, file has ${r.size}`);
    if (r.size > end) throw corrupt(path, `${r.size - end} unexpected bytes after the data`);
    const pos = new Float64Array(nlist);
    let at = 0;
    let p = r.pos;
    const lists = Array.from(sizes, (s, l) => {
      pos[l] = s > 0 ? p : -1;
      p += s * dim * 4;
      const b = VectorBlock.withOffsets(dim, offsets.subarray(at, at + s));
      at += s;
      return b;
    });
    return { header: { dim, nlist, spill, nprobe, count, route: routeCode === 1 ? "query" : "none" }, quantizer, lists, pending: new PendingLists(r, pos, crcs, dim) };
  } catch (e) {
    r.close();
    throw e;
  }
}

/**
 * Vectors of IVF lists still on disk (see PendingSections). `load(l, block)` reads list l's
 * vectors and checks their CRC32.
 */
export class PendingLists extends PendingSections {
  constructor(
    r: FileReader,
    pos: Float64Array,
    crcs: Uint32Array,
    private readonly dim: number,
  ) {
    super(r, pos, crcs);
  }

  /** Reads and checks the vectors of list `l` into `block` (whose size and offsets are set). */
  load(l: number, block: VectorBlock): void {
    if (!this.isPending(l)) return;
    const data = allocFloats(block.size * this.dim);
    this.readSection(l, data, `vectors of list ${l}`);
    block.data = data;
  }
}

/** Closes the file of an IVF index that is garbage-collected before all its lists were read. */
export const pendingCloser = new FinalizationRegistry<PendingLists>((p) => p.close());
