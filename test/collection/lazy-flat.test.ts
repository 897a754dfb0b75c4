import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection } from "../../src/collection/index.js";
import { Store } from "../../src/store/index.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-lazy-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("opening a collection reads no vectors until an exact search needs them", () => {
  it("answers IVF queries from the index file alone, and loads Flat on the first exact query", async () => {
    const dir = join(tmp, "c");
    const { xs } = syntheticClusters({ n: 2000, dim: 64, clusters: 20, seed: 3 });
    let col = await Collection.open(dir);
    await col.addVectors({ vectors: xs, dim: 64, ids: Array.from({ length: 2000 }, (_, i) => `v${i}`), modality: "image" });
    await col.buildIndex({ type: "ivf", nlist: 16 });
    const q = xs.slice(0, 64);
    const expected = await col.search({ vector: q }, { k: 5, index: "exact" });
    await col.close();

    const spy = vi.spyOn(Store.prototype, "vectors");
    col = await Collection.open(dir, { create: false });
    const ivf = await col.search({ vector: q }, { k: 5, index: "ivf", nprobe: 16 });
    expect(spy).not.toHaveBeenCalled();
    expect((await col.stats()).images).toBe(2000);
    expect(ivf.results.map((r) => r.id)).toEqual(expected.results.map((r) => r.id));
    const exact = await col.search({ vector: q }, { k: 5, index: "exact" });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(exact.results).toEqual(expected.results.map((r) => ({ ...r })));
    await col.search({ vector: q }, { k: 5, index: "exact" });
    expect(spy).toHaveBeenCalledTimes(1);
    spy.mockRestore();
    await col.close();
  });
});
