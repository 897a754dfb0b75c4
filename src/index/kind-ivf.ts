import { FlatIndex } from "./flat.js";
import { IvfIndex } from "./ivf.js";
import { openIvf } from "./ivffile.js";
import type { SpecKind } from "./kinds.js";

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

declare module "./kinds.js" {
  interface IndexSpecs {
    ivf: IvfSpec;
  }
}

/** "IVF<nlist>,Flat[,spill<n>][,route=none|query]" (file magic CLIP_IVF). */
export const ivfKind: SpecKind<IvfSpec> = {
  type: "ivf",
  syntax: "'IVF<nlist>,Flat' (e.g. IVF1024,Flat; optional ',spill2' and ',route=query' or ',route=none')",
  parse(s, bad) {
    const m = /^IVF(\d+),FLAT(?:,SPILL(\d+))?(?:,ROUTE=(NONE|QUERY))?$/.exec(s);
    if (!m) return undefined;
    const nlist = Number(m[1]);
    if (nlist < 1) throw bad("nlist must be at least 1");
    const out: IvfSpec = { type: "ivf", nlist };
    if (m[2] !== undefined) {
      const spill = Number(m[2]);
      if (spill < 1 || spill > nlist) throw bad(`spill must be between 1 and nlist (${nlist})`);
      out.spill = spill;
    }
    if (m[3] !== undefined) out.route = m[3].toLowerCase() as "none" | "query";
    return out;
  },
  format: (spec) => `IVF${spec.nlist},Flat${spec.spill && spec.spill > 1 ? `,spill${spec.spill}` : ""}${spec.route === "query" ? ",route=query" : ""}`,
  create: (s, dim) => new IvfIndex({ dim, nlist: s.nlist, spill: s.spill, quantizer: new FlatIndex(dim) }),
  specOf: (index) => {
    if (!(index instanceof IvfIndex)) return undefined;
    const spec: IvfSpec = { type: "ivf", nlist: index.nlist };
    if (index.spill > 1) spec.spill = index.spill;
    if (index.route === "query") spec.route = "query";
    return spec;
  },
  magic: { head: "CLIP_IVF" },
  load: (path) => IvfIndex.load(path),
  check: (path) => openIvf(path).pending.close(),
};
