/**
 * Index specs, written two ways: strings for the CLI and config ("Flat", "IVF1024,Flat",
 * "IVF1024,Flat,spill2", "HNSW32", "Flat,SQ8", "Flat,F16", "IVF1024,SQ8", "IVF1024,PQ64,refine4";
 * Faiss's factory names) and typed objects for code. Plus `loadIndex`, which opens any
 * saved index by its file magic. Every function here dispatches over the kinds registered below
 * (see kinds.ts): a new kind is its own file plus one `registerSpecKind` line.
 */
import fs from "node:fs";
import { ClipdbError } from "../core/errors.js";
import { corrupt, readHead } from "./fileio.js";
import { HEADER_BYTES, magicOf } from "./header.js";
import { registerSpecKind, specKind, specKinds, type AnyIndex, type IndexSpec, type SpecKind } from "./kinds.js";
import { flatKind } from "./kind-flat.js";
import { ivfKind } from "./kind-ivf.js";
import { hnswKind } from "./kind-hnsw.js";
import { flatCodesKind, ivfCodesKind } from "./kind-compressed.js";

// The registered kinds, one line each; parsing tries them in this order.
registerSpecKind(flatKind);
registerSpecKind(ivfKind);
registerSpecKind(hnswKind);
registerSpecKind(flatCodesKind);
registerSpecKind(ivfCodesKind);

const bad = (spec: string, reason: string): ClipdbError =>
  new ClipdbError("INVALID_ARGUMENT", { name: "index spec", reason: `'${spec}': ${reason}`, hint: `Use ${specKinds().map((k) => k.syntax).join(", or ")}.` });

/**
 * Parses a spec string (case-insensitive, spaces ignored) by asking each registered kind in turn:
 * "Flat", "IVF<nlist>,Flat" with an optional ",spill<n>" then an optional ",route=none|query",
 * "HNSW<M>" ("HNSW" alone means M = 32). Anything else: INVALID_ARGUMENT listing the syntaxes.
 */
export function parseSpec(spec: string): IndexSpec {
  if (typeof spec !== "string") throw bad(String(spec), "not a string");
  const s = spec.replace(/\s+/g, "").toUpperCase();
  for (const kind of specKinds()) {
    const out = kind.parse(s, (reason) => bad(spec, reason));
    if (out) return out as IndexSpec;
  }
  throw bad(spec, "unknown index type");
}

function kindOf(spec: { type: string }): SpecKind {
  const kind = specKind(spec?.type);
  if (!kind) throw bad(JSON.stringify(spec), "unknown index type");
  return kind;
}

/**
 * The canonical string of a spec: "Flat", "IVF1024,Flat" (",spill2" when spill > 1, then
 * ",route=query" when route is "query"), "HNSW32".
 */
export function formatSpec(spec: IndexSpec): string {
  return kindOf(spec).format(spec);
}

/**
 * Creates an empty index from a spec (a string is parsed first). IVF gets `new FlatIndex(dim)` as
 * its quantizer and must be trained before `add`.
 */
export function createIndex(spec: IndexSpec | string, dim: number): AnyIndex {
  const s = typeof spec === "string" ? parseSpec(spec) : spec;
  return kindOf(s).create(s, dim);
}

/** The spec of an index instance (INVALID_ARGUMENT when no registered kind owns it). */
export function specOf(index: AnyIndex): IndexSpec {
  for (const kind of specKinds()) {
    const s = kind.specOf(index);
    if (s) return s as IndexSpec;
  }
  throw new ClipdbError("INVALID_ARGUMENT", { name: "index", reason: "not an index of a registered kind" });
}

/** The kind whose magic a saved file carries, or INDEX_CORRUPT naming the path. */
function fileKind(path: string): SpecKind {
  const head = magicOf(readHead(path, 8));
  const byHead = specKinds().find((k) => k.magic.head === head);
  if (byHead) return byHead;
  const tail = tailMagic(path);
  const byTail = specKinds().find((k) => k.magic.tail !== undefined && k.magic.tail === tail);
  if (byTail) return byTail;
  throw corrupt(path, `not a clipdb index file (no ${specKinds().map((k) => k.type.toUpperCase()).join(", ")} magic)`);
}

/**
 * Opens a saved index of any registered kind, dispatching on the file's magic (CLIPFLAT, CLIP_IVF,
 * CLIPQFLT or CLIPQIVF at the start, CLIPHNSW in the trailer). `view`: memory-map an HNSW graph read-only
 * (ignored for the others). Missing, foreign or corrupt files: INDEX_CORRUPT naming the path.
 */
export async function loadIndex(path: string, opts: { view?: boolean } = {}): Promise<AnyIndex> {
  return fileKind(path).load(path, opts);
}

/**
 * Checks a saved index's structure without loading its vectors or graph (header, directory and
 * sizes; IVF also its directory checksum): cheap enough for a status report. INDEX_CORRUPT when
 * the file is missing, truncated or foreign. Per-list and graph checksums are checked on load.
 */
export function checkIndexFile(path: string): void {
  fileKind(path).check(path);
}

/**
 * Bytes a saved index takes in RAM once loaded (its kind's `residentBytes`, else the file size):
 * what `index status` divides by the vector count for bytes/vector. INDEX_CORRUPT as `checkIndexFile`.
 */
export function residentBytesOf(path: string): number {
  const kind = fileKind(path);
  return kind.residentBytes ? kind.residentBytes(path) : fs.statSync(path).size;
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
