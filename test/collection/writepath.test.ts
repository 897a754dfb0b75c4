/**
 * The write path at library level: index deltas replayed from the store's change log, freshness
 * between two open handles of one collection (each its own SQLite connection, as two processes
 * would have), compaction, damage containment, and checksummed vectors. Multi-process versions
 * of these run the real CLI and server in test/cli/writers.test.ts and test/cli/kill.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Collection } from "../../src/collection/index.js";
import { Store } from "../../src/store/index.js";
import { syntheticClusters } from "../fixtures/synthetic.js";

const DIM = 32;
let tmp: string;
beforeAll(() => (tmp = mkdtempSync(join(tmpdir(), "clipdb-write-"))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ids = (prefix: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `${prefix}${from + i}`);

function vectors(n: number, seed: number): Float32Array {
  return syntheticClusters({ n, dim: DIM, clusters: 8, seed }).xs;
}

/** Ids that every index returns for each item's own vector at full probe: the item itself first. */
async function findsEveryItem(col: Collection, all: string[], index: "ivf" | "hnsw"): Promise<string[]> {
  const missing: string[] = [];
  for (const id of all) {
    const v = (await col.vectorOf(id))!;
    const r = await col.search({ vector: v }, { k: 1, index, nprobe: 4096, ef: 2000, modality: "image" });
    if (r.results[0]?.id !== id) {
      missing.push(id);
      if (process.env.DBG) console.log(index, id, r.results.map((x) => [x.id, x.score]), (await col.search({ vector: v }, { k: 2, index: "exact" })).results.map((x) => [x.id, x.score]));
    }
  }
  return missing;
}

async function seeded(name: string, n = 400): Promise<string> {
  const dir = join(tmp, name);
  const col = await Collection.open(dir);
  await col.addVectors({ vectors: vectors(n, 1), dim: DIM, ids: ids("a", n), modality: "image" });
  await col.buildIndex({ type: "ivf", nlist: 8 });
  await col.buildIndex({ type: "hnsw", m: 16 }); // m 8 leaves 2 of these 400 clustered points unreachable from the entry point
  await col.close();
  return dir;
}

describe("index persistence proportional to the change", () => {
  it("writes no index file on a small add or remove, and serves the change from the delta", async () => {
    const dir = await seeded("delta");
    const files = () => readdirSync(join(dir, "indexes")).sort().map((f) => [f, statSync(join(dir, "indexes", f)).mtimeMs].join("@"));
    const before = files();
    const col = await Collection.open(dir);
    await col.search({ vector: vectors(1, 9) }, { k: 3, index: "ivf" });
    await col.addVectors({ vectors: vectors(5, 2), dim: DIM, ids: ids("b", 5), modality: "image" });
    expect(await col.remove(["a0", "a1"])).toBe(2);
    expect(files()).toEqual(before);
    const st = (await col.indexStatus());
    expect(st.map((s) => [s.type, s.size, s.pending])).toEqual([["ivf", 403, 7], ["hnsw", 403, 7]]);
    const live = [...ids("a", 398, 2), ...ids("b", 5)];
    expect(await findsEveryItem(col, live, "ivf")).toEqual([]);
    expect(await findsEveryItem(col, live, "hnsw")).toEqual([]);
    await col.close();
    expect(files()).toEqual(before); // below the compaction threshold, close writes nothing either

    // Reopen: the change is replayed from the store's log.
    const again = await Collection.open(dir);
    expect(await findsEveryItem(again, live, "ivf")).toEqual([]);
    const gone = await again.search({ vector: (await again.vectorOf("a2"))! }, { k: 400, index: "hnsw", ef: 2000 });
    expect(gone.results.map((r) => r.id)).not.toContain("a0");
    expect(await again.compactIndexes()).toEqual(["ivf:image", "hnsw:image"]);
    expect((await again.indexStatus()).map((s) => s.pending)).toEqual([0, 0]);
    expect(readdirSync(join(dir, "indexes"))).toHaveLength(2); // the replaced files are removed
    await again.close();
    const third = await Collection.open(dir);
    expect(await findsEveryItem(third, live, "hnsw")).toEqual([]);
    await third.close();
  });

  it("compacts on its own once the delta passes the threshold", async () => {
    const dir = await seeded("auto-compact", 200);
    const col = await Collection.open(dir, { compaction: { compactMin: 16, compactFraction: 0.05 } });
    await col.search({ vector: vectors(1, 9) }, { k: 3, index: "hnsw" });
    await col.addVectors({ vectors: vectors(20, 3), dim: DIM, ids: ids("c", 20), modality: "image" });
    expect((await col.indexStatus()).map((s) => [s.pending, s.size])).toEqual([[0, 220], [0, 220]]);
    await col.close();
  });
});

describe("freshness between two handles (two connections, like two processes)", () => {
  it("sees the other handle's adds, removes, builds, rebuilds and drops at its next query", async () => {
    const dir = join(tmp, "fresh");
    const a = await Collection.open(dir);
    await a.addVectors({ vectors: vectors(300, 4), dim: DIM, ids: ids("a", 300), modality: "image" });
    const b = await Collection.open(dir);
    expect((await b.indexStatus())).toEqual([]);
    await b.search({ vector: vectors(1, 9) }, { k: 3, index: "exact" });
    await a.buildIndex({ type: "ivf", nlist: 8 });
    expect((await b.indexStatus()).map((s) => s.type)).toEqual(["ivf"]);
    const hit = await b.search({ vector: (await b.vectorOf("a7"))! }, { k: 1, index: "ivf", nprobe: 8 });
    expect(hit.results[0].id).toBe("a7");
    await a.addVectors({ vectors: vectors(10, 5), dim: DIM, ids: ids("n", 10), modality: "image" });
    await a.remove(["a7"]);
    expect(await findsEveryItem(b, [...ids("a", 7), ...ids("a", 292, 8), ...ids("n", 10)], "ivf")).toEqual([]);
    const miss = await b.search({ vector: vectors(300, 4).slice(7 * DIM, 8 * DIM) }, { k: 5, index: "ivf", nprobe: 8 });
    expect(miss.results.map((r) => r.id)).not.toContain("a7");
    await a.buildIndex({ type: "ivf", nlist: 4 });
    expect((await b.indexStatus())[0].spec).toMatch(/^IVF4,/);
    await a.dropIndex("ivf");
    await expect(b.search({ vector: vectors(1, 9) }, { k: 3, index: "ivf" })).rejects.toMatchObject({ code: "INDEX_NOT_BUILT" });
    expect((await b.indexStatus())).toEqual([]);
    await a.close();
    await b.close();
  });

  it("loses nothing when both handles write between each other's queries", async () => {
    const dir = await seeded("two-writers", 200);
    const a = await Collection.open(dir);
    const b = await Collection.open(dir);
    await a.search({ vector: vectors(1, 9) }, { k: 1, index: "ivf" });
    await b.search({ vector: vectors(1, 9) }, { k: 1, index: "hnsw" });
    const all = ids("a", 200);
    for (let i = 0; i < 6; i++) {
      const w = i % 2 ? a : b;
      await w.addVectors({ vectors: vectors(3, 10 + i), dim: DIM, ids: ids(`w${i}-`, 3), modality: "image" });
      all.push(...ids(`w${i}-`, 3));
    }
    for (const c of [a, b]) {
      expect(await findsEveryItem(c, all, "ivf")).toEqual([]);
      expect(await findsEveryItem(c, all, "hnsw")).toEqual([]);
    }
    await a.compactIndexes();
    await b.close();
    await a.close();
    const c = await Collection.open(dir);
    expect(await findsEveryItem(c, all, "ivf")).toEqual([]);
    expect(await findsEveryItem(c, all, "hnsw")).toEqual([]);
    await c.close();
  });
});

describe("an index asked for by name", () => {
  it("over both modalities, searches those without it exactly; over one without it, names that modality", async () => {
    const dir = join(tmp, "mixed");
    const col = await Collection.open(dir);
    await col.addVectors({ vectors: vectors(200, 12), dim: DIM, ids: ids("i", 200), modality: "image" });
    await col.buildIndex({ type: "ivf", nlist: 4 });
    await col.addVectors({ vectors: vectors(1, 13), dim: DIM, ids: ["t0"], modality: "text" });
    const r = await col.search({ vector: (await col.vectorOf("t0"))! }, { k: 3, index: "ivf", nprobe: 4 });
    expect(r.index).toBe("ivf");
    expect(r.results[0]).toMatchObject({ id: "t0", modality: "text" });
    await expect(col.search({ vector: (await col.vectorOf("t0"))! }, { k: 3, index: "ivf", modality: "text" })).rejects.toMatchObject({
      code: "INDEX_NOT_BUILT",
      message: expect.stringMatching(/collection's text items/),
    });
    await expect(col.search({ vector: (await col.vectorOf("t0"))! }, { k: 3, index: "hnsw" })).rejects.toMatchObject({ code: "INDEX_NOT_BUILT" });
    await col.close();
  });
});

describe("damage is contained", () => {
  it("a truncated or missing index file blocks only that index, and a build repairs it", async () => {
    const dir = await seeded("damaged", 300);
    const rec = (type: string) => readdirSync(join(dir, "indexes")).find((f) => f.startsWith(type))!;
    truncateSync(join(dir, "indexes", rec("ivf")), 1000);
    const col = await Collection.open(dir);
    const st = (await col.indexStatus());
    expect(st.find((s) => s.type === "ivf")!.damaged).toMatch(/truncated/);
    expect(st.find((s) => s.type === "hnsw")!.damaged).toBeUndefined();
    const exact = await col.search({ vector: (await col.vectorOf("a3"))! }, { k: 1, index: "exact" });
    expect(exact.results[0].id).toBe("a3");
    await expect(col.search({ vector: (await col.vectorOf("a3"))! }, { k: 1, index: "ivf" })).rejects.toMatchObject({
      code: "INDEX_CORRUPT",
      message: expect.stringMatching(/clipdb index build --type ivf/),
    });
    await col.addVectors({ vectors: vectors(2, 6), dim: DIM, ids: ["x1", "x2"], modality: "image" });
    expect(await col.remove(["x1"])).toBe(1);
    const hnsw = await col.search({ vector: (await col.vectorOf("x2"))! }, { k: 1, index: "hnsw", ef: 500 });
    expect(hnsw.results[0].id).toBe("x2");
    await col.close();

    rmSync(join(dir, "indexes", rec("ivf")));
    const again = await Collection.open(dir);
    expect((await again.indexStatus()).find((s) => s.type === "ivf")!.damaged).toMatch(/missing/);
    await again.buildIndex({ type: "ivf", nlist: 8 });
    expect((await again.indexStatus()).every((s) => !s.damaged)).toBe(true);
    const fixed = await again.search({ vector: (await again.vectorOf("x2"))! }, { k: 1, index: "ivf", nprobe: 8 });
    expect(fixed.results[0].id).toBe("x2");
    await again.dropIndex("hnsw");
    await again.close();
  });

  it("a flipped byte in the HNSW graph is found at load, and writes still succeed", async () => {
    const dir = await seeded("flipped", 300);
    const f = join(dir, "indexes", readdirSync(join(dir, "indexes")).find((x) => x.startsWith("hnsw"))!);
    const bytes = readFileSync(f);
    bytes[100] ^= 0xff;
    writeFileSync(f, bytes);
    const col = await Collection.open(dir);
    await col.addVectors({ vectors: vectors(1, 7), dim: DIM, ids: ["y"], modality: "image" });
    await expect(col.search({ vector: (await col.vectorOf("y"))! }, { k: 1, index: "hnsw" })).rejects.toMatchObject({ code: "INDEX_CORRUPT" });
    expect((await col.indexStatus()).find((s) => s.type === "hnsw")!.damaged).toMatch(/checksum/);
    expect((await col.search({ vector: (await col.vectorOf("y"))! }, { k: 1 })).results[0].id).toBe("y"); // auto falls back to exact
    await col.close();
  });

  it("a damaged stored vector is STORE_CORRUPT naming its item, not a silent score", async () => {
    const dir = join(tmp, "vector-flip");
    const col = await Collection.open(dir);
    await col.addVectors({ vectors: vectors(100, 8), dim: DIM, ids: ids("v", 100), modality: "image" });
    await col.close();
    const db = new Database(join(dir, "clipdb.sqlite"));
    const [block, data] = db.prepare("SELECT block, data FROM vblocks ORDER BY block LIMIT 1").raw().get() as [number, Buffer];
    data[5 * DIM * 4 + 3] ^= 0x40; // a byte of v5's vector
    db.prepare("UPDATE vblocks SET data = ? WHERE block = ?").run(data, block);
    expect((db.pragma("integrity_check") as { integrity_check: string }[])[0].integrity_check).toBe("ok");
    db.close();
    const again = await Collection.open(dir);
    await expect(again.search({ vector: vectors(1, 9) }, { k: 3, index: "exact" })).rejects.toMatchObject({
      code: "STORE_CORRUPT",
      message: expect.stringMatching(/'v5'.*checksum.*clipdb rm v5/),
    });
    await expect(again.vectorOf("v5")).rejects.toThrow(/v5/);
    expect((await again.vectorOf("v6"))).toBeInstanceOf(Float32Array);
    await again.remove(["v5"]);
    expect((await again.search({ vector: vectors(1, 9) }, { k: 3, index: "exact" })).results).toHaveLength(3);
    await again.close();
  });

  it("a missing or empty database beside index files, or a damaged schema version, is STORE_CORRUPT", async () => {
    const dir = await seeded("no-db", 100);
    const db = join(dir, "clipdb.sqlite");
    writeFileSync(db, "");
    rmSync(db + "-wal", { force: true });
    rmSync(db + "-shm", { force: true });
    await expect(Collection.open(dir)).rejects.toMatchObject({ code: "STORE_CORRUPT", message: expect.stringMatching(/empty, but index files remain/) });
    rmSync(db);
    await expect(Collection.open(dir)).rejects.toMatchObject({ code: "STORE_CORRUPT", message: expect.stringMatching(/missing, but index files remain/) });
    expect(existsSync(db)).toBe(false);

    const dir2 = join(tmp, "bad-version");
    const c = await Collection.open(dir2);
    await c.addVectors({ vectors: vectors(3, 8), dim: DIM, ids: ids("v", 3), modality: "image" });
    await c.close();
    const raw = new Database(join(dir2, "clipdb.sqlite"));
    raw.pragma("user_version = -7");
    raw.close();
    expect(() => Store.open(dir2)).toThrow(expect.objectContaining({ code: "STORE_CORRUPT", message: expect.stringMatching(/schema version .* damaged/) }));
  });

  it("removes temporary files of killed saves and unreferenced index files at open", async () => {
    const dir = await seeded("tmpfiles", 100);
    writeFileSync(join(dir, "indexes", ".ivf-image-g1-0000.idx.123.456.abc.tmp"), Buffer.alloc(4096));
    writeFileSync(join(dir, "indexes", "hnsw-image-g0-dead.idx"), Buffer.alloc(4096));
    const col = await Collection.open(dir);
    const left = readdirSync(join(dir, "indexes"));
    expect(left).toHaveLength(2);
    expect(left.some((f) => f.endsWith(".tmp") || f.includes("dead"))).toBe(false);
    expect((await col.indexStatus()).every((s) => !s.damaged)).toBe(true);
    await col.close();
  });
});

describe("rm and re-add", () => {
  it("removing an image removes its own captions, keeps separately added paired texts, and re-adding restores it", async () => {
    const dir = join(tmp, "rm-readd");
    const col = await Collection.open(dir);
    const xs = vectors(6, 11);
    await col.addVectors({ vectors: xs.slice(0, DIM), dim: DIM, ids: ["img"], modality: "image" });
    await col.addVectors({ vectors: xs.slice(DIM, 3 * DIM), dim: DIM, ids: ["img#0", "img#1"], modality: "text", pairIds: ["img", "img"] });
    await col.addVectors({ vectors: xs.slice(3 * DIM, 4 * DIM), dim: DIM, ids: ["note"], modality: "text", pairIds: ["img"] });
    expect((await col.get("img"))!.pairs.sort()).toEqual(["img#0", "img#1", "note"]);
    expect(await col.remove(["img"])).toBe(1);
    expect((await col.get("img#0"))).toBeUndefined();
    expect((await col.get("img#1"))).toBeUndefined();
    expect((await col.get("note"))).toBeDefined();
    expect((await col.stats())).toMatchObject({ images: 0, texts: 1, pairs: 0 });
    await col.addVectors({ vectors: xs.slice(0, DIM), dim: DIM, ids: ["img"], modality: "image" });
    await col.addVectors({ vectors: xs.slice(DIM, 3 * DIM), dim: DIM, ids: ["img#0", "img#1"], modality: "text", pairIds: ["img", "img"] });
    expect((await col.stats())).toMatchObject({ images: 1, texts: 3, pairs: 2 });
    await col.close();
  });
});
