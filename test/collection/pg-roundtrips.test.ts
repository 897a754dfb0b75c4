/**
 * A warm search on Postgres reads its state in one statement (src/store/pg-snapshot.ts): counted
 * here as the queries the `pg` driver sends, against PGlite over TCP. And nothing is cached
 * between searches: another handle's writes, builds and settings show at the next search.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { Collection } from "../../src/collection/index.js";
import { location, stopStores } from "../fixtures/stores.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-rt-"))));
afterAll(async () => {
  await stopStores();
  rmSync(tmp, { recursive: true, force: true });
});

/** The SQL texts the driver sends while `fn` runs. */
async function queriesOf(fn: () => Promise<unknown>): Promise<string[]> {
  const spy = vi.spyOn(pg.Client.prototype, "query");
  try {
    await fn();
    return spy.mock.calls.map((c) => String(typeof c[0] === "string" ? c[0] : (c[0] as { text?: string }).text));
  } finally {
    spy.mockRestore();
  }
}

describe("a search on Postgres", () => {
  it("takes 3 round trips exact (state, query, records) and 5 through pgvector HNSW, and sees other handles' changes at once", async () => {
    const db = await location("postgres", tmp, "rt");
    const a = await Collection.open(db);
    const { xs } = syntheticClusters({ n: 2000, dim: 16, clusters: 10, seed: 1 });
    await a.addVectors({ vectors: xs, dim: 16, ids: Array.from({ length: 2000 }, (_, i) => `v${i}`), modality: "image" });
    const q = { vector: xs.slice(16, 32) };
    await a.search(q, { k: 10, index: "exact" });
    const exact = await queriesOf(() => a.search(q, { k: 10, index: "exact", modality: "image" }));
    expect(exact).toHaveLength(3);
    expect(exact[0]).toMatch(/^SELECT m\.model_id/);

    // Another handle (another API server, say) builds an index, stores a default and adds an item.
    const b = await Collection.open(db, { create: false });
    await b.buildIndex({ type: "hnsw" });
    await b.setDefaults({ index: "hnsw", ef: 123 });
    const hnsw = await queriesOf(async () => expect((await a.search(q, { k: 10, modality: "image" })).index).toBe("hnsw"));
    expect(hnsw).toHaveLength(5);
    expect(hnsw.join("\n")).toContain("SET LOCAL hnsw.ef_search = 123");
    await b.addVectors({ vectors: xs.slice(16, 32), dim: 16, ids: ["copy"], modality: "image" });
    expect((await a.search(q, { k: 1, index: "exact", modality: "image" })).results[0].id).toMatch(/^(copy|v1)$/);
    expect((await a.stats()).images).toBe(2001);
    await b.remove(["v1", "copy"]);
    expect((await a.search(q, { k: 3, index: "exact", modality: "image" })).results.map((r) => r.id)).not.toContain("copy");
    await b.close();
    await a.close();
  }, 120_000);
});
