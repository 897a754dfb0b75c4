import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection, annNames, indexChoices, kindsOf, registerLocalKind, type LocalKind } from "../../src/collection/index.js";
import { FlatIndex, HnswIndex, createIndex, flatKind, formatSpec, parseSpec, registerSpecKind, specKinds, type BaseIndex } from "../../src/index/index.js";
import { registerAnnKind } from "../../src/query/index.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-kinds-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the index layer's kind registry", () => {
  it("parses, formats and creates every registered kind, and its errors list their syntaxes", () => {
    expect(specKinds().map((k) => k.type)).toEqual(["flat", "ivf", "hnsw", "flat-codes", "ivf-codes"]);
    expect(() => parseSpec("LSH64")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT", details: expect.objectContaining({ hint: expect.stringMatching(/'Flat'.*'IVF<nlist>,Flat'.*'HNSW<M>./) }) }));
    expect(() => registerSpecKind(flatKind)).toThrow(/registered twice/);
  });

  it("takes a new kind with one registration: parse, format and create go through it", () => {
    // A real kind of its own: "Exact" specs make the Flat index under another spec type.
    registerSpecKind<{ type: "exact-copy" }>({
      ...(flatKind as unknown as Parameters<typeof registerSpecKind<{ type: "exact-copy" }>>[0]),
      type: "exact-copy",
      syntax: "'Exact'",
      parse: (s) => (s === "EXACT" ? { type: "exact-copy" } : undefined),
      format: () => "Exact",
      specOf: () => undefined,
      magic: {},
    });
    const spec = parseSpec("exact") as unknown as { type: string };
    expect(spec).toEqual({ type: "exact-copy" });
    expect(formatSpec(spec as never)).toBe("Exact");
    expect(createIndex("Exact", 8)).toBeInstanceOf(FlatIndex);
    expect(() => parseSpec("nope")).toThrow(expect.objectContaining({ details: expect.objectContaining({ hint: expect.stringContaining("'Exact'") }) }));
  });
});

describe("the collection's kind registry", () => {
  it("names the kinds of each store, and refuses names that clash", () => {
    expect(indexChoices().slice(0, 4)).toEqual(["auto", "exact", "hnsw", "ivf"]);
    expect(kindsOf("sqlite").map((k) => [k.name, k.kind, k.param])).toEqual([["hnsw", "hnsw", "ef"], ["ivf", "ivf", "nprobe"], ["ivf-sq8", "ivf-sq8", "nprobe"], ["ivf-pq", "ivf-pq", "nprobe"], ["ivf-sq4", "ivf-sq4", "nprobe"], ["ivf-f16", "ivf-f16", "nprobe"]]);
    expect(kindsOf("postgres").map((k) => [k.name, k.kind, k.param])).toEqual([["hnsw", "pgvector-hnsw", "ef"], ["ivf", "pgvector-ivfflat", "nprobe"]]);
    const base = { store: "sqlite" as const, autoRank: 9, countsScanned: true, describe: "x", param: { key: "ef" as const, default: 1, help: "", tune: [1] } };
    expect(() => registerAnnKind({ ...base, id: "a", name: "auto" })).toThrow(/may not be named/);
    expect(() => registerAnnKind({ ...base, id: "b", name: "hnsw" })).toThrow(/two index kinds named 'hnsw'/);
  });

  it("builds, searches, reports, tunes and drops a kind added with one registration line", async () => {
    // A second graph kind (M 8, its own name): everything below reaches it through the registry.
    const graph8: LocalKind = {
      id: "graph8",
      name: "graph8",
      store: "sqlite",
      autoRank: 0,
      countsScanned: false,
      describe: "HNSW graph with M 8",
      param: { key: "ef", default: 64, help: "search breadth", tune: [8, 16, 32, 64, 128, 256] },
      async make(_store, _opts, _modality, offsets, xs) {
        const idx = new HnswIndex({ dim: xs.length / offsets.length, m: 8 }) as unknown as BaseIndex;
        idx.add(offsets, xs);
        return { idx, spec: "HNSW8" };
      },
    };
    registerLocalKind(graph8);
    expect(annNames()[0]).toBe("graph8");

    const dir = join(tmp, "c");
    const { xs } = syntheticClusters({ n: 12_000, dim: 16, clusters: 30, seed: 5 });
    let col = await Collection.open(dir);
    await col.addVectors({ vectors: xs, dim: 16, ids: Array.from({ length: 12_000 }, (_, i) => `v${i}`), modality: "image" });
    const built = await col.buildIndex({ type: "graph8" });
    expect(built).toMatchObject([{ type: "graph8", kind: "graph8", modality: "image", spec: "HNSW8", size: 12_000 }]);
    await expect(col.buildIndex({ type: "lsh" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "type", reason: "'lsh' is not graph8 or hnsw or ivf or ivf-sq8 or ivf-pq or ivf-sq4 or ivf-f16" } });
    await col.close();

    col = await Collection.open(dir, { create: false });
    const q = xs.slice(0, 16);
    const exact = await col.search({ vector: q }, { k: 10, index: "exact" });
    const named = await col.search({ vector: q }, { k: 10, index: "graph8", ef: 256 });
    expect(named.index).toBe("graph8");
    expect(named.results.map((r) => r.id)).toEqual(exact.results.map((r) => r.id));
    // Above 10,000 vectors, auto takes the built kind of lowest rank.
    expect((await col.search({ vector: q }, { k: 10 })).index).toBe("graph8");
    await expect(col.search({ vector: q }, { index: "hnsw" })).rejects.toMatchObject({ code: "INDEX_NOT_BUILT" });
    const stats = await col.stats();
    expect(stats.kinds.map((k) => k.name)).toEqual(["graph8", "hnsw", "ivf", "ivf-sq8", "ivf-pq", "ivf-sq4", "ivf-f16"]);
    const tuned = await col.tune(0.9, 50);
    expect(tuned).toMatchObject([{ type: "graph8", param: "ef", reached: true }]);
    await col.dropIndex("graph8");
    expect(await col.indexStatus()).toEqual([]);
    await col.close();
  });
});
