/**
 * Index specs, written two ways: strings for the CLI and config ("Flat", "IVF1024,Flat",
 * "IVF1024,Flat,spill2", "HNSW32") and typed objects for code. Plus `loadIndex`, which opens any
 * saved index by its file magic.
 */
import fs from "node:fs";
import { ClipdbError } from "../core/errors.js";
import { corrupt, readHead } from "./fileio.js";
import { FlatIndex } from "./flat.js";
import { HEADER_BYTES, magicOf } from "./header.js";
import { HnswIndex } from "./hnsw.js";
import { IvfIndex } from "./ivf.js";
import { openIvf } from "./ivffile.js";

/** Exact flat index. */
export interface FlatSpec {
  type: "flat";
}
/**
 * IVF-Flat with `nlist` lists; `spill` lists per vector (default 1); `route`: how the lists were
 * formed, "none" (plain k-means, the default) or "query" (query-aware lists for cross-modal
 * queries, see `crossModalCentroids`). `route` records how an index was trained; `createIndex`
 * makes an untrained index either way (the caller trains it).
 */
export interface IvfSpec {
  type: "ivf";
  nlist: number;
  spill?: number;
  route?: "none" | "query";
}
/** HNSW with graph degree `m` (default 32). */
export interface HnswSpec {
  type: "hnsw";
  m: number;
}
/** A typed index spec. */
export type IndexSpec = FlatSpec | IvfSpec | HnswSpec;

/** Any clipdb index. */
export type AnyIndex = FlatIndex | IvfIndex | HnswIndex;

const bad = (spec: string, reason: string): ClipdbError =>
  new ClipdbError("INVALID_ARGUMENT", { name: "index spec", reason: `'${spec}': ${reason}`, hint: "Use 'Flat', 'IVF<nlist>,Flat' (e.g. IVF1024,Flat; optional ',spill2' and ',route=query' or ',route=none') or 'HNSW<M>' (e.g. HNSW32)." });

/**
 * Parses a spec string (case-insensitive, spaces ignored): "Flat", "IVF<nlist>,Flat" with an
 * optional ",spill<n>" then an optional ",route=none|query", "HNSW<M>" ("HNSW" alone means M = 32). Anything else: INVALID_ARGUMENT.
 */
export function parseSpec(spec: string): IndexSpec {
  if (typeof spec !== "string") throw bad(String(spec), "not a string");
  const s = spec.replace(/\s+/g, "").toUpperCase();
  if (s === "FLAT") return { type: "flat" };
  let m = /^IVF(\d+),FLAT(?:,SPILL(\d+))?(?:,ROUTE=(NONE|QUERY))?$/.exec(s);
  if (m) {
    const nlist = Number(m[1]);
    if (nlist < 1) throw bad(spec, "nlist must be at least 1");
    const out: IvfSpec = { type: "ivf", nlist };
    if (m[2] !== undefined) {
      const spill = Number(m[2]);
      if (spill < 1 || spill > nlist) throw bad(spec, `spill must be between 1 and nlist (${nlist})`);
      out.spill = spill;
    }
    if (m[3] !== undefined) out.route = m[3].toLowerCase() as "none" | "query";
    return out;
  }
  m = /^HNSW(\d*)$/.exec(s);
  if (m) {
    const M = m[1] === "" ? 32 : Number(m[1]);
    if (M < 2) throw bad(spec, "M must be at least 2");
    return { type: "hnsw", m: M };
  }
  throw bad(spec, "unknown index type");
}

/**
 * The canonical string of a spec: "Flat", "IVF1024,Flat" (",spill2" when spill > 1, then
 * ",route=query" when route is "query"), "HNSW32".
 */
export function formatSpec(spec: IndexSpec): string {
  switch (spec.type) {
    case "flat":
      return "Flat";
    case "ivf":
      return `IVF${spec.nlist},Flat${spec.spill && spec.spill > 1 ? `,spill${spec.spill}` : ""}${spec.route === "query" ? ",route=query" : ""}`;
    case "hnsw":
      return `HNSW${spec.m}`;
  }
}

/**
 * Creates an empty index from a spec (a string is parsed first). IVF gets `new FlatIndex(dim)` as
 * its quantizer and must be trained before `add`.
 */
export function createIndex(spec: IndexSpec | string, dim: number): AnyIndex {
  const s = typeof spec === "string" ? parseSpec(spec) : spec;
  switch (s.type) {
    case "flat":
      return new FlatIndex(dim);
    case "ivf":
      return new IvfIndex({ dim, nlist: s.nlist, spill: s.spill, quantizer: new FlatIndex(dim) });
    case "hnsw":
      return new HnswIndex({ dim, m: s.m });
    default:
      throw bad(JSON.stringify(spec), "unknown index type");
  }
}

/** The spec of an index instance. */
export function specOf(index: AnyIndex): IndexSpec {
  if (index instanceof IvfIndex) return index.spill > 1 ? { type: "ivf", nlist: index.nlist, spill: index.spill } : { type: "ivf", nlist: index.nlist };
  if (index instanceof HnswIndex) return { type: "hnsw", m: index.m };
  return { type: "flat" };
}

/**
 * Opens a saved index of any type, dispatching on the file's magic (CLIPFLAT or CLIP_IVF at the
 * start, CLIPHNSW in the trailer). `view`: memory-map an HNSW graph read-only (ignored for the
 * others). Missing, foreign or corrupt files: INDEX_CORRUPT naming the path.
 */
export async function loadIndex(path: string, opts: { view?: boolean } = {}): Promise<AnyIndex> {
  const head = magicOf(readHead(path, 8));
  if (head === "CLIPFLAT") return FlatIndex.load(path);
  if (head === "CLIP_IVF") return IvfIndex.load(path);
  if (tailMagic(path) === "CLIPHNSW") return HnswIndex.load(path, { view: opts.view });
  throw corrupt(path, "not a clipdb index file (no Flat, IVF or HNSW magic)");
}

/**
 * Checks a saved index's structure without loading its vectors or graph (header, directory and
 * sizes; IVF also its directory checksum): cheap enough for a status report. INDEX_CORRUPT when
 * the file is missing, truncated or foreign. Per-list and graph checksums are checked on load.
 */
export function checkIndexFile(path: string): void {
  const head = magicOf(readHead(path, 8));
  if (head === "CLIPFLAT") return;
  if (head === "CLIP_IVF") return openIvf(path).pending.close();
  if (tailMagic(path) === "CLIPHNSW") return HnswIndex.check(path);
  throw corrupt(path, "not a clipdb index file (no Flat, IVF or HNSW magic)");
}

function tailMagic(path: string): string {
  const fd = fs.openSync(path, "r");
  try {
    const size = fs.fstatSync(fd).size;
    if (size < HEADER_BYTES) return "";
    const b = new Uint8Array(8);
    fs.readSync(fd, b, 0, 8, size - HEADER_BYTES);
    return magicOf(b);
  } finally {
    fs.closeSync(fd);
  }
}
