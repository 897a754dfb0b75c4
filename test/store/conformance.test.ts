/**
 * One conformance suite for every CollectionStore (the storage seam, src/store/api.ts), as
 * test/index/conformance.test.ts is for indexes: each behaviour of the contract runs against the
 * embedded SQLite store (a temporary folder) and the Postgres store (PGlite + pgvector in a
 * child process, reached over TCP by the `pg` driver, pool size 1; one fresh schema per test).
 */
import { describe, expect, it } from "vitest";
import type { CollectionStore } from "../../src/store/api.js";
import type { WhereCond } from "../../src/store/where.js";
import type { NewItem, Pair } from "../../src/store/types.js";
import { storeBackends } from "./backends.js";
import { sameBits, vectorsFor } from "./fixtures/gen.js";
import { item } from "./helpers.js";

const DIM = 8;

const { backends } = storeBackends("conf");

const kindOf = (id: string): "image" | "text" => (id.startsWith("t") ? "text" : "image");

/** Adds `ids` (texts when the id starts with "t") with their seeded vectors. */
function add(s: { addItems: CollectionStore["addItems"] }, ids: string[], pairs: Pair[] = [], over: (id: string) => Partial<NewItem> = () => ({})) {
  return s.addItems(
    ids.map((id) => item(id, kindOf(id), over(id))),
    vectorsFor(ids, DIM),
    pairs,
  );
}

const arr = (xs: Uint32Array): number[] => Array.from(xs);

describe.each(backends)("$name store", (b) => {
  /** A store with the test model and `ids` added. */
  async function seeded(ids: string[] = []): Promise<CollectionStore> {
    const { s } = await b.fresh();
    await s.setModel("test-model", DIM);
    if (ids.length) await add(s, ids);
    return s;
  }

  it("records the model once, then checks dim and model id", async () => {
    const { s } = await b.fresh();
    expect(s.kind).toBe(b.name);
    expect(await s.model()).toBeNull();
    expect(await s.generation()).toBe(0);
    await s.setModel("m", DIM);
    expect(await s.model()).toEqual({ modelId: "m", dim: DIM });
    expect(await s.generation()).toBe(1);
    await s.setModel("m", DIM); // a matching call writes nothing
    expect(await s.generation()).toBe(1);
    await expect(s.setModel("m", DIM * 2)).rejects.toMatchObject({ code: "DIM_MISMATCH" });
    await expect(s.setModel("other", DIM)).rejects.toMatchObject({ code: "MODEL_MISMATCH" });
    await expect(s.setModel("", DIM)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(s.setModel("m", 0)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await s.generation()).toBe(1);
  });

  it("adds items with monotonic offsets and returns full records", async () => {
    const { s } = await b.fresh();
    await expect(add(s, ["a"])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" }); // no model yet
    await s.setModel("m", DIM);
    const recs = await add(s, ["a", "t1", "b"], [], (id) => ({ meta: { n: id.length, tag: id } }));
    expect(recs.map((r) => r.offset)).toEqual([0, 1, 2]);
    expect(recs[1]).toMatchObject({ id: "t1", modality: "text", text: "text of t1", source: "/src/t1", hash: "h-t1", meta: { n: 2, tag: "t1" } });
    expect(new Date(recs[0].createdAt).toISOString()).toBe(recs[0].createdAt);
    expect(await s.get("t1")).toEqual(recs[1]);
    expect(await s.get("nope")).toBeUndefined();
    const more = await add(s, ["c"]);
    expect(more[0].offset).toBe(3);
    expect(await add(s, [])).toEqual([]);
    expect(await s.counts()).toEqual({ images: 3, texts: 1, pairs: 0 });
    expect((await s.getManyByOffsets([3, 0, 1, 3, 77])).map((r) => r.id)).toEqual(["c", "a", "t1", "c"]);
    expect(await s.getManyByOffsets([])).toEqual([]);
    expect((await s.findByHash("h-b")).map((r) => r.id)).toEqual(["b"]);
    expect(await s.findByHash("zzz")).toEqual([]);
  });

  it("gives DUPLICATE_ID for a stored or repeated id and writes nothing", async () => {
    const s = await seeded(["a"]);
    const gen = await s.generation();
    await expect(add(s, ["b", "a"])).rejects.toMatchObject({ code: "DUPLICATE_ID", details: { id: "a" } });
    await expect(add(s, ["c", "c"])).rejects.toMatchObject({ code: "DUPLICATE_ID", details: { id: "c" } });
    expect(await s.get("b")).toBeUndefined();
    expect(await s.get("c")).toBeUndefined();
    expect(await s.generation()).toBe(gen);
    expect((await add(s, ["d"]))[0].offset).toBe(1);
  });

  it("refuses bad vectors (INVALID_VECTOR) and wrong lengths (DIM_MISMATCH), writing nothing", async () => {
    const s = await seeded(["a"]);
    const gen = await s.generation();
    const bad = (f: (xs: Float32Array) => void): Float32Array => {
      const xs = vectorsFor(["x", "y"], DIM);
      f(xs);
      return xs;
    };
    const items = [item("x", "image"), item("y", "image")];
    await expect(s.addItems(items, bad((xs) => (xs[DIM + 1] = Number.NaN)))).rejects.toMatchObject({ code: "INVALID_VECTOR" });
    await expect(s.addItems(items, bad((xs) => xs.fill(0, DIM)))).rejects.toMatchObject({ code: "INVALID_VECTOR" });
    await expect(s.addItems(items, bad((xs) => (xs[0] *= 2)))).rejects.toMatchObject({ code: "INVALID_VECTOR" });
    await expect(s.addItems(items, vectorsFor(["x"], DIM))).rejects.toMatchObject({ code: "DIM_MISMATCH", details: { expected: DIM } });
    await expect(s.addItems(items, new Float32Array(2 * DIM * 2))).rejects.toMatchObject({ code: "DIM_MISMATCH", details: { got: DIM * 2 } });
    expect(await s.counts()).toEqual({ images: 1, texts: 0, pairs: 0 });
    expect(await s.generation()).toBe(gen);
  });

  it("returns vectors bit-exact, by modality, from an offset, and by offsets", async () => {
    const s = await seeded();
    expect(await s.vectors()).toEqual({ offsets: new Uint32Array(0), xs: new Float32Array(0) });
    const ids = ["a", "t1", "b", "t2", "c"];
    await add(s, ids.slice(0, 2));
    await add(s, ids.slice(2));
    await s.remove(["b"]);
    const all = await s.vectors();
    expect(arr(all.offsets)).toEqual([0, 1, 3, 4]);
    expect(sameBits(all.xs, vectorsFor(["a", "t1", "t2", "c"], DIM))).toBe(true);
    const texts = await s.vectors("text");
    expect(arr(texts.offsets)).toEqual([1, 3]);
    expect(sameBits(texts.xs, vectorsFor(["t1", "t2"], DIM))).toBe(true);
    const since = await s.vectors("image", 2);
    expect(arr(since.offsets)).toEqual([4]);
    expect(sameBits(since.xs, vectorsFor(["c"], DIM))).toBe(true);
    expect(sameBits((await s.vector(3))!, vectorsFor(["t2"], DIM))).toBe(true);
    expect(await s.vector(2)).toBeUndefined();
    expect(await s.vector(99)).toBeUndefined();
    expect(sameBits(await s.vectorsAt([4, 0, 4]), vectorsFor(["c", "a", "c"], DIM))).toBe(true);
    expect((await s.vectorsAt([])).length).toBe(0);
    await expect(s.vectorsAt([0, 2])).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(arr(await s.liveOffsets())).toEqual([0, 1, 3, 4]);
    expect(arr(await s.liveOffsets("image"))).toEqual([0, 4]);
    expect(arr(await s.liveOffsets("text", 2))).toEqual([3]);
    expect(arr(await s.liveOffsets(undefined, 5))).toEqual([]);
  });

  it("keeps many vectors bit-exact over uneven batches (and more rows than one page)", async () => {
    const s = await seeded();
    const ids = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `t${i}` : `i${i}`));
    for (let at = 0, n = 1; at < ids.length; at += n, n = n * 3 + 1) await add(s, ids.slice(at, at + n));
    const all = await s.vectors();
    expect(all.offsets.length).toBe(5000);
    expect(sameBits(all.xs, vectorsFor(ids, DIM))).toBe(true);
  });

  it("removes items with their pairs; strict mode removes nothing on an unknown id", async () => {
    const s = await seeded();
    await add(s, ["a", "b", "t1", "t2"], [
      { imageId: "a", textId: "t1" },
      { imageId: "b", textId: "t1" },
      { imageId: "b", textId: "t2" },
    ]);
    const gen = await s.generation();
    await expect(s.remove(["t2", "nope"], { strict: true })).rejects.toMatchObject({ code: "NOT_FOUND", details: { id: "nope" } });
    expect(await s.get("t2")).toBeDefined();
    expect(await s.generation()).toBe(gen);
    expect(arr(await s.remove(["nope"]))).toEqual([]);
    expect(await s.generation()).toBe(gen); // nothing removed: no bump
    expect(arr(await s.remove(["t1", "nope", "a", "t1"]))).toEqual([2, 0]);
    expect(await s.generation()).toBe(gen + 1);
    expect(await s.get("a")).toBeUndefined();
    expect(await s.pairedIds("b")).toEqual(["t2"]);
    expect(await s.counts()).toEqual({ images: 1, texts: 1, pairs: 1 });
    expect(arr(await s.remove([]))).toEqual([]);
  });

  it("never reuses offsets, even after removing the newest items and reopening", async () => {
    const { s, again } = await b.fresh();
    await s.setModel("m", DIM);
    await add(s, ["a", "b", "c"]);
    await s.remove(["b", "c"]);
    await s.close();
    const s2 = await again();
    expect((await add(s2, ["d"]))[0].offset).toBe(3);
  });

  it("links pairs both ways, in offset order, and refuses unknown ids and wrong modalities", async () => {
    const s = await seeded(["a", "b", "t1", "t2", "t3"]);
    await s.addPairs([
      { imageId: "b", textId: "t3" },
      { imageId: "a", textId: "t2" },
      { imageId: "a", textId: "t1" },
      { imageId: "a", textId: "t1" }, // kept once
    ]);
    await add(s, ["c", "t4"], [{ imageId: "c", textId: "t4" }, { imageId: "a", textId: "t4" }]);
    expect(await s.pairedIds("a")).toEqual(["t1", "t2", "t4"]);
    expect(await s.pairedIds("t4")).toEqual(["a", "c"]);
    expect(await s.pairedIds("nope")).toEqual([]);
    // The same, for many items in one read, with an image's first caption text.
    const many = await s.pairsOfMany(["a", "t4", "nope", "b"]);
    expect([...many.keys()].sort()).toEqual(["a", "b", "t4"]);
    expect(many.get("a")).toEqual({ pairs: ["t1", "t2", "t4"], caption: (await s.get("t1"))!.text });
    expect(many.get("t4")).toEqual({ pairs: ["a", "c"], caption: null });
    expect(many.get("b")).toEqual({ pairs: ["t3"], caption: (await s.get("t3"))!.text });
    expect((await s.pairsOfMany([])).size).toBe(0);
    const p = await s.pairs();
    expect(arr(p.image)).toEqual([0, 0, 0, 1, 5]);
    expect(arr(p.text)).toEqual([2, 3, 6, 4, 6]);
    expect((await s.counts()).pairs).toBe(5);
    const gen = await s.generation();
    await expect(s.addPairs([{ imageId: "b", textId: "t1" }, { imageId: "a", textId: "zz" }])).rejects.toMatchObject({ code: "NOT_FOUND", details: { id: "zz" } });
    await expect(s.addPairs([{ imageId: "t1", textId: "t2" }])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(add(s, ["d"], [{ imageId: "d", textId: "zz" }])).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(await s.get("d")).toBeUndefined();
    expect(await s.pairedIds("b")).toEqual(["t3"]);
    expect(await s.generation()).toBe(gen);
  });

  it("lists sources in byte order, optionally under a prefix", async () => {
    const s = await seeded();
    const src: Record<string, string | null> = { a: "/p/b.jpg", b: "/p/a.jpg", c: "/q/Z.jpg", d: "/p/é.jpg", e: "/P/x.jpg", t1: null };
    await add(s, Object.keys(src), [], (id) => ({ source: src[id], hash: id === "c" ? null : `h-${id}` }));
    expect((await s.sources()).map((r) => r.source)).toEqual(["/P/x.jpg", "/p/a.jpg", "/p/b.jpg", "/p/é.jpg", "/q/Z.jpg"]);
    expect((await s.sources()).find((r) => r.id === "c")).toEqual({ id: "c", source: "/q/Z.jpg", hash: null });
    expect(await s.sources("/p/")).toEqual([
      { id: "b", source: "/p/a.jpg", hash: "h-b" },
      { id: "a", source: "/p/b.jpg", hash: "h-a" },
      { id: "d", source: "/p/é.jpg", hash: "h-d" },
    ]);
    expect(await s.sources("/nothing/")).toEqual([]);
  });

  it("filters offsets by metadata: strings, numbers by their JSON text, booleans, missing keys", async () => {
    const s = await seeded();
    const meta: Record<string, Record<string, unknown>> = {
      a: { split: "val", year: 2017, ok: true, score: 1.5 },
      b: { split: "train", year: 2017, ok: false },
      t: { split: "val", year: 2014, "odd key.x": "y" },
      n: { split: null, nested: { k: 1 } },
    };
    await add(s, Object.keys(meta), [], (id) => ({ meta: meta[id] }));
    const w = async (where: Record<string, string>, m?: "image" | "text"): Promise<number[]> => arr(await s.offsetsWhere(where, m));
    expect(await w({ split: "val" })).toEqual([0, 2]);
    expect(await w({ split: "val" }, "image")).toEqual([0]);
    expect(await w({ year: "2017" })).toEqual([0, 1]);
    expect(await w({ year: "2017", split: "train" })).toEqual([1]);
    expect(await w({ score: "1.5" })).toEqual([0]);
    expect(await w({ ok: "true" })).toEqual([0]);
    expect(await w({ ok: "false" })).toEqual([1]);
    expect(await w({ "odd key.x": "y" })).toEqual([2]);
    expect(await w({ split: "null" })).toEqual([]);
    expect(await w({ missing: "x" })).toEqual([]);
    expect(await w({})).toEqual([0, 1, 2, 3]);
    expect(await w({}, "text")).toEqual([2]);
    for (const key of ['a"b', "a\\b", "", "a\nb"]) {
      await expect(s.offsetsWhere({ [key]: "x" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    await expect(s.offsetsWhere({ year: 2017 as unknown as string })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("filters by typed conditions: != < <= > >= in exists and whole-day dates, keys and values bound", async () => {
    const s = await seeded();
    const meta: Record<string, Record<string, unknown>> = {
      a: { taken: "2019-05-03T14:22:10", camera: "Canon", width: 640, ok: true },
      b: { taken: "2020-12-31T23:59:59", camera: "Nikon", width: 1024 },
      c: { taken: "2021-01-01T00:00:00", camera: "Sony", width: "2048" },
      d: { camera: "Canon", width: 99.5, "it's": "x'); DROP TABLE items; --" },
    };
    await add(s, Object.keys(meta), [], (id) => ({ meta: meta[id] }));
    const w = async (where: WhereCond[]): Promise<number[]> => arr(await s.offsetsWhere(where));
    expect(await w([{ key: "taken", op: ">=", value: "2020-01-01" }])).toEqual([1, 2]);
    expect(await w([{ key: "taken", op: "<=", value: "2020-12-31" }])).toEqual([0, 1]); // the whole last day
    expect(await w([{ key: "taken", op: ">", value: "2020-12-31" }])).toEqual([2]);
    expect(await w([{ key: "taken", op: "<", value: "2020-12-31" }])).toEqual([0]);
    expect(await w([{ key: "taken", op: "=", value: "2019-05-03" }])).toEqual([0]);
    expect(await w([{ key: "taken", op: ">=", value: "2019-05-03T14:22:11" }])).toEqual([1, 2]);
    expect(await w([{ key: "taken", op: ">=", value: "2019-01-01" }, { key: "taken", op: "<", value: "2021-01-01" }])).toEqual([0, 1]);
    expect(await w([{ key: "camera", op: "in", value: ["Canon", "Nikon"] }])).toEqual([0, 1, 3]);
    expect(await w([{ key: "camera", op: "!=", value: "Canon" }])).toEqual([1, 2]);
    expect(await w([{ key: "ok", op: "!=", value: "true" }])).toEqual([1, 2, 3]); // missing keys pass !=
    expect(await w([{ key: "width", op: ">=", value: 640 }])).toEqual([0, 1]); // the string "2048" is no number
    expect(await w([{ key: "width", op: "<", value: "100" }])).toEqual([3]);
    expect(await w([{ key: "width", op: "in", value: [640, "2048"] }])).toEqual([0, 2]);
    expect(await w([{ key: "taken", op: "exists" }])).toEqual([0, 1, 2]);
    expect(await w([{ key: "it's", op: "=", value: "x'); DROP TABLE items; --" }])).toEqual([3]);
    expect(await w([{ key: "nowhere", op: "exists" }])).toEqual([]);
    expect(await w([])).toEqual([0, 1, 2, 3]);
    expect(arr(await s.offsetsWhere([{ key: "camera", op: "=", value: "Canon" }], "image"))).toEqual([0, 3]);
    for (const bad of [
      { key: "width", op: "<", value: "abc" },
      { key: "taken", op: ">=", value: "2020-02-30" },
      { key: "camera", op: "~", value: "x" },
      { key: "camera", op: "in", value: [] },
      { key: "", op: "=", value: "x" },
      { key: "width", op: ">", value: ["1", "2"] },
    ]) {
      await expect(s.offsetsWhere([bad as WhereCond])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
    expect(await s.counts()).toEqual({ images: 4, texts: 0, pairs: 0 });
  });

  it("stores JSON settings without bumping the generation", async () => {
    const s = await seeded(["a"]);
    const gen = await s.generation();
    expect(await s.getSetting("ivf")).toBeUndefined();
    expect(await s.getSettingRaw("ivf")).toBeUndefined();
    await s.setSetting("ivf", { nprobe: 16, nlist: 1024, file: "ivf.bin", z: [1, "é", null] });
    expect(await s.getSetting("ivf")).toEqual({ nprobe: 16, nlist: 1024, file: "ivf.bin", z: [1, "é", null] });
    expect(await s.getSettingRaw("ivf")).toBe('{"nprobe":16,"nlist":1024,"file":"ivf.bin","z":[1,"é",null]}');
    await s.setSetting("ivf", 3);
    expect(await s.getSetting<number>("ivf")).toBe(3);
    await s.setSetting("ivf", undefined);
    expect(await s.getSetting("ivf")).toBeUndefined();
    await expect(s.setSetting("bad", { n: 1n })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await s.generation()).toBe(gen);
  });

  it("bumps the generation once per data write, never for failed ones or settings", async () => {
    const { s } = await b.fresh();
    expect(s.lastGeneration).toBe(-1);
    const gens = [await s.generation()];
    await s.setModel("m", DIM);
    gens.push(await s.generation());
    await add(s, ["i", "t"]);
    gens.push(await s.generation());
    await s.addPairs([{ imageId: "i", textId: "t" }]);
    gens.push(await s.generation());
    await s.remove(["t"]);
    gens.push(await s.generation());
    expect(gens).toEqual([0, 1, 2, 3, 4]);
    expect(s.lastGeneration).toBe(4);
    await expect(add(s, ["i"])).rejects.toMatchObject({ code: "DUPLICATE_ID" });
    await s.setSetting("k", 1);
    await s.putBlob("k", Buffer.from("x"));
    expect(await s.generation()).toBe(4);
    expect(s.lastGeneration).toBe(4);
  });

  it("replays changes since a generation, per modality, and says when the log does not reach back", async () => {
    const s = await seeded(); // generation 1
    await add(s, ["a", "t1", "b"]); // 2: offsets 0..2
    await add(s, ["t2", "c"]); // 3: offsets 3..4
    await s.remove(["b", "t1"]); // 4
    await s.addPairs([{ imageId: "a", textId: "t2" }]); // 5
    expect(await s.generation()).toBe(5);
    const c1 = (await s.changesSince(1))!;
    expect(c1.to).toBe(5);
    expect({ ai: arr(c1.added.image), at: arr(c1.added.text), ri: arr(c1.removed.image), rt: arr(c1.removed.text) }).toEqual({ ai: [0, 4], at: [3], ri: [2], rt: [1] });
    const c3 = (await s.changesSince(3))!;
    expect({ ai: arr(c3.added.image), at: arr(c3.added.text), ri: arr(c3.removed.image), rt: arr(c3.removed.text) }).toEqual({ ai: [], at: [], ri: [2], rt: [1] });
    const none = (await s.changesSince(5))!;
    expect(none.to).toBe(5);
    expect(none.added.image.length + none.added.text.length + none.removed.image.length + none.removed.text.length).toBe(0);
    expect(await s.changesSince(-1)).toBeNull();
    expect(await s.changesSince(6)).toBeNull();
    expect(await s.changedSince(1)).toBe(7);
    expect(await s.changedSince(1, "image")).toBe(4);
    expect(await s.changedSince(1, "text")).toBe(3);
    expect(await s.changedSince(3, "text")).toBe(1);
    expect(await s.changedSince(4)).toBe(0); // a pair changes no item
    expect(await s.changedSince(5)).toBe(0);
    expect(await s.changedSince(-1)).toBe(Infinity);
    expect(await s.changedSince(99, "image")).toBe(Infinity);
  });

  it("commits a transaction at once, and rolls all of it back when fn throws", async () => {
    const s = await seeded();
    const gen = await s.generation();
    const out = await s.transaction(async (w) => {
      await add(w, ["a"]);
      await add(w, ["b"]);
      await w.setSetting("k", 1);
      expect((await w.counts()).images).toBe(2); // its own writes are visible inside
      return "done";
    });
    expect(out).toBe("done");
    expect((await s.counts()).images).toBe(2);
    expect(await s.generation()).toBe(gen + 2);
    expect(s.lastGeneration).toBe(gen + 2);
    await expect(
      s.transaction(async (w) => {
        await add(w, ["c"]);
        await w.setSetting("k", 2);
        await w.remove(["a"]);
        await w.putBlob("x", Buffer.from("y"));
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await s.get("c")).toBeUndefined();
    expect(await s.get("a")).toBeDefined();
    expect(await s.getSetting("k")).toBe(1);
    expect(await s.getBlob("x")).toBeUndefined();
    expect(await s.generation()).toBe(gen + 2);
    expect((await add(s, ["d"]))[0].offset).toBe(2);
  });

  it("lets a caught failing write inside a transaction roll back alone (savepoint)", async () => {
    const s = await seeded(["a"]);
    await s.transaction(async (w) => {
      await add(w, ["b"]);
      await expect(add(w, ["c", "a"])).rejects.toMatchObject({ code: "DUPLICATE_ID" });
      await expect(w.addPairs([{ imageId: "b", textId: "zz" }])).rejects.toMatchObject({ code: "NOT_FOUND" });
      await add(w, ["d"]);
    });
    expect(arr(await s.liveOffsets())).toEqual([0, 1, 2]);
    expect(await s.get("c")).toBeUndefined();
    expect((await s.get("d"))!.offset).toBe(2);
  });

  it("reads one snapshot: a write another handle commits meanwhile is not seen inside read()", async () => {
    const { s, again } = await b.fresh();
    await s.setModel("m", DIM);
    await add(s, ["a"]);
    const other = await again();
    let write: Promise<unknown> | undefined;
    const seen = await s.read(async (r) => {
      const before = { counts: await r.counts(), gen: await r.generation() };
      // SQLite (WAL) commits this meanwhile; PGlite's one backend runs it after the snapshot ends.
      write = add(other, ["b", "t1"]);
      await Promise.race([write, new Promise((res) => setTimeout(res, 300))]);
      const after = { counts: await r.counts(), gen: await r.generation(), b: await r.get("b"), live: arr(await r.liveOffsets()) };
      return { before, after };
    });
    await write;
    expect(seen.after).toEqual({ counts: seen.before.counts, gen: seen.before.gen, b: undefined, live: [0] });
    expect(await s.counts()).toEqual({ images: 2, texts: 1, pairs: 0 });
  });

  it("serialises writers of two handles: offsets and generations are distinct and in commit order", async () => {
    const { s, again } = await b.fresh();
    await s.setModel("m", DIM);
    const other = await again();
    const batches = await Promise.all(Array.from({ length: 6 }, (_, i) => add(i % 2 ? s : other, [`x${i}a`, `x${i}b`])));
    const offsets = batches.flatMap((recs) => recs.map((r) => r.offset)).sort((x, y) => x - y);
    expect(offsets).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(await s.generation()).toBe(7);
    const c = (await s.changesSince(1))!;
    expect(c.added.image.length).toBe(12);
  });

  it("stores blobs by key, replacing, without bumping the generation", async () => {
    const s = await seeded();
    const gen = await s.generation();
    expect(await s.getBlob("thumb/a")).toBeUndefined();
    const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
    await s.putBlob("thumb/a", bytes);
    expect((await s.getBlob("thumb/a"))!.equals(bytes)).toBe(true);
    await s.putBlob("thumb/a", Buffer.from("second"));
    expect((await s.getBlob("thumb/a"))!.toString()).toBe("second");
    await s.putBlob("empty", Buffer.alloc(0));
    expect((await s.getBlob("empty"))!.length).toBe(0);
    expect(await s.generation()).toBe(gen);
  });

  it("closes idempotently, refuses use after close, and a reopened handle keeps everything", async () => {
    const { s, again } = await b.fresh();
    await s.setModel("m", DIM);
    await add(s, ["a", "t1", "b"], [{ imageId: "a", textId: "t1" }], (id) => ({ meta: { id, n: 1 } }));
    await s.remove(["b"]);
    await s.setSetting("k", { v: 1 });
    await s.putBlob("blob", Buffer.from([0, 1, 2, 255]));
    const before = { gen: await s.generation(), counts: await s.counts(), a: await s.get("a"), vec: await s.vectors() };
    await s.close();
    await s.close();
    await expect(s.counts()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const s2 = await again();
    expect(s2.location).toBe(s.location);
    expect(await s2.model()).toEqual({ modelId: "m", dim: DIM });
    expect(await s2.generation()).toBe(before.gen);
    expect(await s2.counts()).toEqual(before.counts);
    expect(await s2.get("a")).toEqual(before.a);
    const vec = await s2.vectors();
    expect(arr(vec.offsets)).toEqual(arr(before.vec.offsets));
    expect(sameBits(vec.xs, before.vec.xs)).toBe(true);
    expect(await s2.pairedIds("a")).toEqual(["t1"]);
    expect(await s2.getSetting("k")).toEqual({ v: 1 });
    expect([...(await s2.getBlob("blob"))!]).toEqual([0, 1, 2, 255]);
    expect((await s2.changesSince(0))!.to).toBe(before.gen);
    expect((await add(s2, ["c"]))[0].offset).toBe(3);
  });
});
