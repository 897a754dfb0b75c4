import { CompressedFlatIndex } from "./flatq.js";
import { CompressedIvfIndex } from "./ivfq.js";
import { checkCompressedFile, compressedResidentBytes } from "./codedfile.js";
import type { SpecKind } from "./kinds.js";

/** "Flat,SQ8" / "Flat,F16": exact search over compressed vectors (see CompressedFlatIndex). */
export interface FlatCodesSpec {
  type: "flat-codes";
  codec: "sq8" | "f16";
}

/**
 * "IVF<nlist>,SQ8", "IVF<nlist>,SQ4", "IVF<nlist>,F16", "IVF<nlist>,PQ<m>", each with an optional
 * ",refine<r>" (see CompressedIvfIndex: refine 0 is exact within the probed lists for SQ8, SQ4 and
 * F16, ADC scores for PQ).
 */
export interface IvfCodesSpec {
  type: "ivf-codes";
  nlist: number;
  codec: "sq8" | "sq4" | "f16" | "pq";
  /** PQ: sub-quantisers (bytes per vector); must divide the dimension. */
  m?: number;
  /** Re-score the best k * refine in float32 (absent or 0: see above). */
  refine?: number;
}

declare module "./kinds.js" {
  interface IndexSpecs {
    "flat-codes": FlatCodesSpec;
    "ivf-codes": IvfCodesSpec;
  }
}

/** "Flat,SQ8" or "Flat,F16" (file magic CLIPQFLT). */
export const flatCodesKind: SpecKind<FlatCodesSpec> = {
  type: "flat-codes",
  syntax: "'Flat,SQ8' or 'Flat,F16' (exact, compressed)",
  parse(s) {
    const m = /^FLAT,(SQ8|F16)$/.exec(s);
    return m ? { type: "flat-codes", codec: m[1].toLowerCase() as "sq8" | "f16" } : undefined;
  },
  format: (spec) => `Flat,${spec.codec.toUpperCase()}`,
  create: (s, dim) => new CompressedFlatIndex(dim, { codec: s.codec }),
  specOf: (index) => (index instanceof CompressedFlatIndex ? { type: "flat-codes", codec: index.kind } : undefined),
  magic: { head: "CLIPQFLT" },
  load: (path) => CompressedFlatIndex.load(path),
  check: (path) => checkCompressedFile(path),
  residentBytes: (path) => compressedResidentBytes(path),
};

/** "IVF<nlist>,SQ8|SQ4|F16|PQ<m>[,refine<r>]" (file magic CLIPQIVF). */
export const ivfCodesKind: SpecKind<IvfCodesSpec> = {
  type: "ivf-codes",
  syntax: "'IVF<nlist>,SQ8', 'IVF<nlist>,SQ4', 'IVF<nlist>,F16' or 'IVF<nlist>,PQ<m>' (optional ',refine<r>', e.g. IVF1024,SQ4,refine10)",
  parse(s, bad) {
    const m = /^IVF(\d+),(SQ8|SQ4|F16|PQ(\d+))(?:,REFINE(\d+))?$/.exec(s);
    if (!m) return undefined;
    const nlist = Number(m[1]);
    if (nlist < 1) throw bad("nlist must be at least 1");
    const out: IvfCodesSpec = { type: "ivf-codes", nlist, codec: m[3] !== undefined ? "pq" : (m[2].toLowerCase() as "sq8" | "sq4" | "f16") };
    if (m[3] !== undefined) {
      out.m = Number(m[3]);
      if (out.m < 1) throw bad("PQ needs at least 1 sub-quantiser (PQ<m>, e.g. PQ64)");
    }
    if (m[4] !== undefined && Number(m[4]) > 0) out.refine = Number(m[4]);
    return out;
  },
  format: (spec) => `IVF${spec.nlist},${spec.codec === "pq" ? `PQ${spec.m}` : spec.codec.toUpperCase()}${spec.refine ? `,refine${spec.refine}` : ""}`,
  create: (s, dim) => new CompressedIvfIndex({ dim, nlist: s.nlist, codec: s.codec, m: s.m, refine: s.refine }),
  specOf(index) {
    if (!(index instanceof CompressedIvfIndex)) return undefined;
    const out: IvfCodesSpec = { type: "ivf-codes", nlist: index.nlist, codec: index.codec.kind };
    if (index.m) out.m = index.m;
    if (index.refine) out.refine = index.refine;
    return out;
  },
  magic: { head: "CLIPQIVF" },
  load: (path) => CompressedIvfIndex.load(path),
  check: (path) => checkCompressedFile(path),
  residentBytes: (path) => compressedResidentBytes(path),
};
