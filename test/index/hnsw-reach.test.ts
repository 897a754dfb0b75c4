import { describe, expect, it } from "vitest";
import { HnswIndex } from "../../src/index/index.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

describe("HNSW graph reachability", () => {
  // usearch 2.25's concurrent add leaves some nodes unreachable (unum-cloud/USearch#735): on 2
  // threads this set lost 10 nodes over 10 builds at M=16 (18 at M=32). The default is 1 thread.
  it("finds every vector by itself at ef = n with the default build threads, build after build", () => {
    const { xs } = syntheticClusters({ n: 400, dim: 32, clusters: 8, seed: 1 });
    const offsets = Uint32Array.from({ length: 400 }, (_, i) => i);
    let lost = 0;
    for (let build = 0; build < 5; build++) {
      const h = new HnswIndex({ dim: 32, m: 16 });
      h.add(offsets, xs);
      for (let i = 0; i < 400; i++) if (h.search(xs.subarray(i * 32, (i + 1) * 32), 1, { ef: 400 }).offsets[0] !== i) lost++;
    }
    expect(lost).toBe(0);
  });
});
