import { ClipdbError } from "../core/errors.js";
import { CompressedIvfIndex, formatSpec, parseSpec, type BaseIndex, type IvfCodesSpec } from "../index/index.js";
import { defaultNlist } from "./kind-ivf.js";
import type { BuildOptions, LocalKind } from "./kind-types.js";

/** Default float32 re-scoring of an IVF-PQ build: the best k * 16 candidates (see the README's Performance section). */
export const DEFAULT_PQ_REFINE = 16;
/** Default float32 re-scoring of an IVF-SQ4 build: the best k * 10 candidates (see the README's Performance section). */
export const DEFAULT_SQ4_REFINE = 10;

type Codec = "sq8" | "sq4" | "f16" | "pq";
const DEFAULT_REFINE: Record<Codec, number> = { sq8: 0, f16: 0, pq: DEFAULT_PQ_REFINE, sq4: DEFAULT_SQ4_REFINE };

const NPROBE_TUNE = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024];

/**
 * The spec a compressed IVF build uses: `opts.spec` when given (it must be of this codec, e.g.
 * "IVF1024,PQ64"), else nlist from `opts.nlist` (default `defaultNlist`), PQ m = dim / 8 (PQ64 at
 * 512-d), and `opts.refine` (IVF-PQ default 16, IVF-SQ4 10; SQ8 and F16 default 0 = exact in the
 * probed lists).
 */
function specFor(codec: Codec, opts: BuildOptions, n: number, dim: number): IvfCodesSpec {
  let s: IvfCodesSpec;
  if (opts.spec !== undefined) {
    const p = parseSpec(opts.spec);
    if (p.type !== "ivf-codes" || p.codec !== codec) throw new ClipdbError("INVALID_ARGUMENT", { name: "spec", reason: `'${opts.spec}' is not an IVF,${codec.toUpperCase()} spec`, hint: codec === "pq" ? "Use e.g. --spec IVF1024,PQ64." : `Use e.g. --spec IVF1024,${codec.toUpperCase()}.` });
    s = { ...p, nlist: Math.min(p.nlist, n) };
  } else {
    s = { type: "ivf-codes", nlist: Math.min(opts.nlist ?? defaultNlist(n), n), codec };
    if (codec === "pq") s.m = dim % 8 === 0 ? dim / 8 : dim;
  }
  const refine = opts.refine ?? s.refine ?? DEFAULT_REFINE[codec];
  if (!Number.isInteger(refine) || refine < 0) throw new ClipdbError("INVALID_ARGUMENT", { name: "refine", reason: `must be an integer >= 0, got ${refine}` });
  if (refine > 0) s.refine = refine;
  else delete s.refine;
  return s;
}

function kind(codec: Codec, autoRank: number, describe: string): LocalKind {
  return {
    id: `ivf-${codec}`,
    name: `ivf-${codec}`,
    store: "sqlite",
    countsScanned: true,
    autoRank,
    describe,
    param: { key: "nprobe", default: 16, help: "IVF lists probed; higher is slower and more exact", tune: NPROBE_TUNE },
    async make(_store, opts, _modality, offsets, xs) {
      const dim = xs.length / offsets.length;
      const s = specFor(codec, opts, offsets.length, dim);
      const idx = new CompressedIvfIndex({ dim, nlist: s.nlist, codec, m: s.m, refine: s.refine });
      idx.train(xs);
      idx.add(offsets, xs);
      return { idx: idx as unknown as BaseIndex, spec: formatSpec(s) };
    },
  };
}

/** IVF with SQ8 lists (1 byte per dimension), exact inside the probed lists; float32 re-scored from the index file. */
export const ivfSq8Local = kind("sq8", 3, "IVF lists of SQ8 codes (1 byte per dimension) in a clipdb file, exact inside the probed lists; lists probed nprobe");
/** IVF-PQ (m bytes per vector, m = dim / 8 by default) with a float32 refine of k * 16 candidates by default. */
export const ivfPqLocal = kind("pq", 4, "IVF-PQ lists (dim/8 bytes per vector by default) in a clipdb file, float32 refine of k*16 candidates; lists probed nprobe");
/** IVF with SQ4 lists (half a byte per dimension, under 300 bytes per 512-d vector) and a float32 refine of k * 10 candidates by default. */
export const ivfSq4Local = kind("sq4", 4.5, "IVF lists of SQ4 codes (half a byte per dimension) in a clipdb file, float32 refine of k*10 candidates; lists probed nprobe");
/** IVF with F16 lists (2 bytes per dimension), exact inside the probed lists. */
export const ivfF16Local = kind("f16", 5, "IVF lists of F16 codes (2 bytes per dimension) in a clipdb file, exact inside the probed lists; lists probed nprobe");

/**
 * The build a spec string names (for `clipdb index build --spec`): its kind's name and the sizes
 * it sets; `spec` is passed on for the compressed IVF kinds. INVALID_ARGUMENT for a bad spec or an
 * exact one (collections search exactly without an index).
 */
export function buildFromSpec(spec: string): Pick<BuildOptions, "type" | "nlist" | "m" | "spill" | "route" | "spec"> {
  const s = parseSpec(spec);
  if (s.type === "ivf") return { type: "ivf", nlist: s.nlist, spill: s.spill, route: s.route };
  if (s.type === "hnsw") return { type: "hnsw", m: s.m };
  if (s.type === "ivf-codes") return { type: `ivf-${s.codec}`, spec };
  throw new ClipdbError("INVALID_ARGUMENT", { name: "spec", reason: `'${spec}' is an exact index; collections search exactly without building one`, hint: "Build an approximate index: e.g. --spec IVF1024,PQ64 or --spec HNSW32." });
}
