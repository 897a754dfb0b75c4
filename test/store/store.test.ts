import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DB_FILE, Store } from "../../src/store/index.js";
import type { NewItem } from "../../src/store/index.js";
import { sameBits, vectorsFor } from "./fixtures/gen.js";
import { cleanupTmp, item, tmpDir } from "./helpers.js";

const DIM = 8;
const open: Store[] = [];

/** Opens a store that afterEach closes. */
function openStore(dir = tmpDir(), opts: Parameters<typeof Store.open>[1] = {}): Store {
  const s = Store.open(dir, opts);
  open.push(s);
  return s;
}

/** A store with a model and `ids` added (images unless the id starts with "t"). */
function seeded(ids: string[], opts: Parameters<typeof Store.open>[1] = {}): Store {
  const s = openStore(tmpDir(), opts);
  s.setModel("test-model", DIM);
  add(s, ids);
  return s;
}

function add(s: Store, ids: string[], pairs: { imageId: string; textId: string }[] = []): ReturnType<Store["addItems"]> {
  const items: NewItem[] = ids.map((id) => item(id, id.startsWith("t") ? "text" : "image"));
  return s.addItems(items, vectorsFor(ids, DIM), pairs);
}

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  cleanupTmp();
});

describe("Store.open", () => {
  it("creates the directory and database, and reopens it", () => {
    const dir = path.join(tmpDir(), "nested", "col");
    const s = Store.open(dir);
    expect(fs.existsSync(path.join(dir, DB_FILE))).toBe(true);
    expect(s.dir).toBe(path.resolve(dir));
    expect(s.model()).toBeNull();
    expect(s.counts()).toEqual({ images: 0, texts: 0, pairs: 0 });
    expect(s.generation()).toBe(0);
    expect(s.nextOffset()).toBe(0);
    s.close();
    s.close(); // idempotent
    const again = openStore(dir, { create: false });
    expect(again.counts()).toEqual({ images: 0, texts: 0, pairs: 0 });
  });

  it("gives NOT_FOUND for a missing collection when create is false or readonly", () => {
    const dir = path.join(tmpDir(), "missing");
    expect(() => Store.open(dir, { create: false })).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(() => Store.open(dir, { readonly: true })).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(fs.existsSync(dir)).toBe(false);
  });

  it("refuses use after close with INVALID_ARGUMENT", () => {
    const s = Store.open(tmpDir());
    s.close();
    expect(() => s.counts()).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("refuses a bad blockSize", () => {
    expect(() => Store.open(tmpDir(), { blockSize: 0 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("model", () => {
  it("records the model once, then checks dim and model id", () => {
    const s = openStore();
    s.setModel("clip-a", 512);
    expect(s.model()).toEqual({ modelId: "clip-a", dim: 512 });
    const gen = s.generation();
    s.setModel("clip-a", 512); // same: no write
    expect(s.generation()).toBe(gen);
    expect(() => s.setModel("clip-a", 768)).toThrow(expect.objectContaining({ code: "DIM_MISMATCH" }));
    expect(() => s.setModel("clip-b", 768)).toThrow(expect.objectContaining({ code: "DIM_MISMATCH" }));
    expect(() => s.setModel("clip-b", 512)).toThrow(expect.objectContaining({ code: "MODEL_MISMATCH" }));
    expect(() => s.setModel("", 512)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => s.setModel("clip-a", 0)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(s.model()).toEqual({ modelId: "clip-a", dim: 512 });
  });

  it("keeps the model across reopen, and a reopened store still refuses another", () => {
    const dir = tmpDir();
    const s = Store.open(dir);
    s.setModel("clip-a", 512);
    s.close();
    const r = openStore(dir);
    expect(r.model()).toEqual({ modelId: "clip-a", dim: 512 });
    expect(() => r.setModel("clip-b", 512)).toThrow(expect.objectContaining({ code: "MODEL_MISMATCH" }));
  });

  it("says what to do in mismatch messages", () => {
    const s = openStore();
    s.setModel("clip-a", 512);
    expect(() => s.setModel("clip-a", 768)).toThrow(/expected 512, got 768.*create a new collection/);
    expect(() => s.setModel("clip-b", 512)).toThrow(/'clip-a', not 'clip-b'.*new collection/);
  });
});

describe("addItems", () => {
  it("assigns monotonic offsets and returns full records", () => {
    const s = seeded([]);
    const recs = s.addItems(
      [item("a", "image", { meta: { tag: "x" } }), item("t1", "text", { source: null, hash: null })],
      vectorsFor(["a", "t1"], DIM),
    );
    expect(recs.map((r) => r.offset)).toEqual([0, 1]);
    expect(recs[0]).toMatchObject({ id: "a", modality: "image", source: "/src/a", text: null, meta: { tag: "x" }, hash: "h-a" });
    expect(recs[1]).toMatchObject({ id: "t1", modality: "text", source: null, text: "text of t1", hash: null });
    expect(Number.isNaN(Date.parse(recs[0].createdAt))).toBe(false);
    expect(s.get("a")).toEqual(recs[0]);
    expect(s.getByOffset(1)).toEqual(recs[1]);
    expect(s.get("nope")).toBeUndefined();
    expect(s.getByOffset(99)).toBeUndefined();
    const more = add(s, ["b", "c"]);
    expect(more.map((r) => r.offset)).toEqual([2, 3]);
    expect(s.nextOffset()).toBe(4);
    expect(s.counts()).toEqual({ images: 3, texts: 1, pairs: 0 });
  });

  it("accepts an empty batch", () => {
    const s = seeded(["a"]);
    expect(s.addItems([], new Float32Array(0))).toEqual([]);
    expect(s.nextOffset()).toBe(1);
  });

  it("needs a model first", () => {
    const s = openStore();
    expect(() => s.addItems([item("a", "image")], vectorsFor(["a"], DIM))).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("refuses wrong-length vectors with DIM_MISMATCH, naming the per-item dim", () => {
    const s = seeded([]);
    const err = (() => {
      try {
        s.addItems([item("a", "image"), item("b", "image")], vectorsFor(["a", "b"], DIM * 2));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toMatchObject({ code: "DIM_MISMATCH", details: { expected: DIM, got: DIM * 2 } });
    expect(() => s.addItems([item("a", "image")], new Float32Array(DIM + 1))).toThrow(expect.objectContaining({ code: "DIM_MISMATCH" }));
    expect(s.counts().images).toBe(0);
  });

  it("refuses NaN, infinite, zero and unnormalised vectors with INVALID_VECTOR", () => {
    const s = seeded([]);
    const bad = (mut: (v: Float32Array) => void): Float32Array => {
      const v = vectorsFor(["a"], DIM);
      mut(v);
      return v;
    };
    for (const v of [bad((x) => (x[3] = NaN)), bad((x) => (x[0] = Infinity)), new Float32Array(DIM), bad((x) => x.forEach((_, i) => (x[i] *= 2)))]) {
      expect(() => s.addItems([item("a", "image")], v)).toThrow(expect.objectContaining({ code: "INVALID_VECTOR" }));
    }
    expect(s.counts().images).toBe(0);
    expect(s.generation()).toBe(1); // only setModel wrote
  });

  it("refuses malformed items with INVALID_ARGUMENT", () => {
    const s = seeded([]);
    const v = vectorsFor(["a"], DIM);
    expect(() => s.addItems([item("", "image")], v)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => s.addItems([item("a", "video" as "image")], v)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => s.addItems([item("a", "image", { meta: [] as unknown as Record<string, unknown> })], v)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => s.addItems([item("a", "image", { meta: { n: 1n } })], v)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => s.addItems([item("a", "image", { text: 5 as unknown as string })], v)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("gives DUPLICATE_ID for an id already stored and writes nothing", () => {
    const s = seeded(["a", "b"]);
    const before = { counts: s.counts(), next: s.nextOffset(), gen: s.generation(), bytes: s.liveOffsets() };
    expect(() => add(s, ["c", "d", "a"])).toThrow(expect.objectContaining({ code: "DUPLICATE_ID", details: { id: "a" } }));
    expect(s.get("c")).toBeUndefined();
    expect(s.get("d")).toBeUndefined();
    expect(s.counts()).toEqual(before.counts);
    expect(s.nextOffset()).toBe(before.next);
    expect(s.generation()).toBe(before.gen);
    expect(s.liveOffsets()).toEqual(before.bytes);
    expect(s.verify()).toEqual({ ok: true, problems: [] });
  });

  it("gives DUPLICATE_ID for an id repeated in one batch and writes nothing", () => {
    const s = seeded([]);
    expect(() => add(s, ["x", "y", "x"])).toThrow(expect.objectContaining({ code: "DUPLICATE_ID", details: { id: "x" } }));
    expect(s.counts().images).toBe(0);
    expect(s.nextOffset()).toBe(0);
  });

  it("adds pairs with the batch, and writes nothing when a pair names an unknown id", () => {
    const s = seeded([]);
    add(s, ["img1", "t1", "t2"], [
      { imageId: "img1", textId: "t1" },
      { imageId: "img1", textId: "t2" },
    ]);
    expect(s.counts()).toEqual({ images: 1, texts: 2, pairs: 2 });
    expect(() => add(s, ["img2", "t3"], [{ imageId: "img2", textId: "t-missing" }])).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(s.get("img2")).toBeUndefined();
    expect(s.counts()).toEqual({ images: 1, texts: 2, pairs: 2 });
  });
});

describe("pairs", () => {
  it("links images and captions both ways and gives offset ground truth", () => {
    const s = seeded(["i1", "t1", "t2", "i2", "t3"]);
    s.addPairs([
      { imageId: "i1", textId: "t2" },
      { imageId: "i1", textId: "t1" },
      { imageId: "i2", textId: "t3" },
      { imageId: "i1", textId: "t1" }, // repeated: kept once
    ]);
    expect(s.counts().pairs).toBe(3);
    expect(s.pairedIds("i1")).toEqual(["t1", "t2"]);
    expect(s.pairedIds("t3")).toEqual(["i2"]);
    expect(s.pairedIds("nope")).toEqual([]);
    const p = s.pairs();
    expect(Array.from(p.image)).toEqual([0, 0, 3]);
    expect(Array.from(p.text)).toEqual([1, 2, 4]);
  });

  it("gives NOT_FOUND for an unknown id and writes none of the pairs", () => {
    const s = seeded(["i1", "t1"]);
    const gen = s.generation();
    expect(() =>
      s.addPairs([
        { imageId: "i1", textId: "t1" },
        { imageId: "i1", textId: "t9" },
      ]),
    ).toThrow(expect.objectContaining({ code: "NOT_FOUND", details: expect.objectContaining({ id: "t9" }) }));
    expect(s.counts().pairs).toBe(0);
    expect(s.generation()).toBe(gen);
  });

  it("refuses a pair whose ends have the wrong modality", () => {
    const s = seeded(["i1", "i2", "t1"]);
    expect(() => s.addPairs([{ imageId: "i1", textId: "i2" }])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => s.addPairs([{ imageId: "t1", textId: "i1" }])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(s.counts().pairs).toBe(0);
  });
});

describe("lookups", () => {
  it("getManyByOffsets keeps the order, repeats, and leaves out dead offsets", () => {
    const s = seeded(["a", "b", "c", "d"]);
    s.remove(["b"]);
    expect(s.getManyByOffsets([3, 0, 1, 3, 77]).map((r) => r.id)).toEqual(["d", "a", "d"]);
    expect(s.getManyByOffsets(new Uint32Array([2]))[0].id).toBe("c");
    expect(s.getManyByOffsets([])).toEqual([]);
  });

  it("finds by hash and by source", () => {
    const s = seeded([]);
    s.addItems(
      [item("a", "image", { hash: "H", source: "/p/1.jpg" }), item("b", "image", { hash: "H", source: "/p/2.jpg" }), item("c", "image", { hash: "G", source: "/q/1.jpg" })],
      vectorsFor(["a", "b", "c"], DIM),
    );
    expect(s.findByHash("H").map((r) => r.id)).toEqual(["a", "b"]);
    expect(s.findByHash("Z")).toEqual([]);
    expect(s.findBySource("/q/1.jpg").map((r) => r.id)).toEqual(["c"]);
    expect(s.sources()).toEqual([
      { id: "a", source: "/p/1.jpg", hash: "H" },
      { id: "b", source: "/p/2.jpg", hash: "H" },
      { id: "c", source: "/q/1.jpg", hash: "G" },
    ]);
    expect(s.sources("/p/").map((r) => r.id)).toEqual(["a", "b"]);
    expect(s.sources("/nothing/")).toEqual([]);
  });

  it("offsetsWhere matches meta values as strings, per modality", () => {
    const s = seeded([]);
    s.addItems(
      [
        item("a", "image", { meta: { split: "val", year: 2017, ok: true } }),
        item("b", "image", { meta: { split: "train", year: 2017, ok: false } }),
        item("t", "text", { meta: { split: "val", year: 2014, "odd key.x": "y" } }),
        item("n", "image", { meta: { split: null } }),
      ],
      vectorsFor(["a", "b", "t", "n"], DIM),
    );
    expect(Array.from(s.offsetsWhere({ split: "val" }))).toEqual([0, 2]);
    expect(Array.from(s.offsetsWhere({ split: "val" }, "image"))).toEqual([0]);
    expect(Array.from(s.offsetsWhere({ year: "2017" }))).toEqual([0, 1]);
    expect(Array.from(s.offsetsWhere({ year: "2017", split: "train" }))).toEqual([1]);
    expect(Array.from(s.offsetsWhere({ ok: "true" }))).toEqual([0]);
    expect(Array.from(s.offsetsWhere({ ok: "false" }))).toEqual([1]);
    expect(Array.from(s.offsetsWhere({ "odd key.x": "y" }))).toEqual([2]);
    expect(Array.from(s.offsetsWhere({ split: "null" }))).toEqual([]);
    expect(Array.from(s.offsetsWhere({ missing: "x" }))).toEqual([]);
    expect(Array.from(s.offsetsWhere({}))).toEqual([0, 1, 2, 3]);
    expect(Array.from(s.offsetsWhere({}, "text"))).toEqual([2]);
    expect(() => s.offsetsWhere({ 'a"b': "x" })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("vectors", () => {
  it("returns all live vectors bit-exact, in offset order, per modality", () => {
    const ids = ["i0", "t0", "i1", "t1", "t2", "i2", "i3"];
    const s = seeded(ids, { blockSize: 3 });
    const all = s.vectors();
    expect(Array.from(all.offsets)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(sameBits(all.xs, vectorsFor(ids, DIM))).toBe(true);
    const img = s.vectors("image");
    expect(Array.from(img.offsets)).toEqual([0, 2, 5, 6]);
    expect(sameBits(img.xs, vectorsFor(["i0", "i1", "i2", "i3"], DIM))).toBe(true);
    const txt = s.vectors("text");
    expect(Array.from(txt.offsets)).toEqual([1, 3, 4]);
    expect(sameBits(txt.xs, vectorsFor(["t0", "t1", "t2"], DIM))).toBe(true);
    expect(Array.from(s.liveOffsets("text"))).toEqual([1, 3, 4]);
    expect(sameBits(s.vector(4)!, vectorsFor(["t2"], DIM))).toBe(true);
    expect(s.vector(99)).toBeUndefined();
    expect(sameBits(s.vectorsAt([6, 0, 6]), vectorsFor(["i3", "i0", "i3"], DIM))).toBe(true);
    expect(() => s.vectorsAt([0, 42])).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
  });

  it("loads a modality that sits in few blocks of a wide range (per-block reads)", () => {
    const imgs = Array.from({ length: 20 }, (_, i) => `i${i}`);
    const s = seeded(["t0", "t1"], { blockSize: 2 });
    add(s, imgs);
    add(s, ["t2", "t3", "t4"]);
    s.remove(["t3"]);
    const txt = s.vectors("text");
    expect(Array.from(txt.offsets)).toEqual([0, 1, 22, 24]);
    expect(sameBits(txt.xs, vectorsFor(["t0", "t1", "t2", "t4"], DIM))).toBe(true);
    expect(sameBits(s.vectors("image").xs, vectorsFor(imgs, DIM))).toBe(true);
  });

  it("loads only offsets from a given one (what was added since an index build)", () => {
    const s = seeded(["i0", "t0", "i1"], { blockSize: 2 });
    const built = s.nextOffset();
    add(s, ["i2", "t1", "i3"]);
    s.remove(["i2"]);
    expect(Array.from(s.liveOffsets(undefined, built))).toEqual([4, 5]);
    const since = s.vectors("image", built);
    expect(Array.from(since.offsets)).toEqual([5]);
    expect(sameBits(since.xs, vectorsFor(["i3"], DIM))).toBe(true);
    expect(Array.from(s.vectors(undefined, built).offsets)).toEqual([4, 5]);
  });

  it("is empty for an empty store or modality", () => {
    const s = openStore();
    expect(s.vectors()).toEqual({ offsets: new Uint32Array(0), xs: new Float32Array(0) });
    s.setModel("m", DIM);
    add(s, ["i0"]);
    expect(s.vectors("text").offsets.length).toBe(0);
    expect(s.vectors("text").xs.length).toBe(0);
  });

  it("keeps vectors bit-exact across reopen, over many uneven batches and block boundaries", () => {
    const dir = tmpDir();
    const s = Store.open(dir, { blockSize: 4 });
    s.setModel("m", DIM);
    const ids: string[] = [];
    let n = 0;
    for (const size of [1, 3, 4, 5, 2, 9, 1, 1, 7]) {
      const batch = Array.from({ length: size }, () => `${n % 3 === 0 ? "t" : "i"}${n++}`);
      add(s, batch);
      ids.push(...batch);
    }
    s.close();
    const r = openStore(dir, { blockSize: 99 }); // an existing store keeps its block size
    expect(r.blockSize).toBe(4);
    const { offsets, xs } = r.vectors();
    expect(Array.from(offsets)).toEqual(ids.map((_, i) => i));
    expect(sameBits(xs, vectorsFor(ids, DIM))).toBe(true);
    expect(r.verify()).toEqual({ ok: true, problems: [] });
  });
});

describe("remove", () => {
  it("removes items, their pairs and vectors; returns the offsets; skips unknown ids", () => {
    const s = seeded(["i0", "t0", "t1", "i1", "t2"], { blockSize: 2 });
    s.addPairs([
      { imageId: "i0", textId: "t0" },
      { imageId: "i0", textId: "t1" },
      { imageId: "i1", textId: "t2" },
    ]);
    const removed = s.remove(["t1", "ghost", "i0"]);
    expect(Array.from(removed)).toEqual([2, 0]);
    expect(s.get("i0")).toBeUndefined();
    expect(s.counts()).toEqual({ images: 1, texts: 2, pairs: 1 });
    expect(s.pairedIds("t0")).toEqual([]);
    expect(Array.from(s.pairs().image)).toEqual([3]);
    expect(s.vector(0)).toBeUndefined();
    const v = s.vectors();
    expect(Array.from(v.offsets)).toEqual([1, 3, 4]);
    expect(sameBits(v.xs, vectorsFor(["t0", "i1", "t2"], DIM))).toBe(true);
    expect(s.verify()).toEqual({ ok: true, problems: [] });
    expect(Array.from(s.remove(["ghost"]))).toEqual([]);
  });

  it("in strict mode gives NOT_FOUND for an unknown id and removes nothing", () => {
    const s = seeded(["a", "b"]);
    expect(() => s.remove(["a", "zzz"], { strict: true })).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    expect(s.get("a")).toBeDefined();
    expect(s.counts().images).toBe(2);
  });

  it("never reuses offsets, even after removing the newest items and reopening", () => {
    const dir = tmpDir();
    const s = Store.open(dir, { blockSize: 2 });
    s.setModel("m", DIM);
    add(s, ["a", "b", "c"]);
    s.remove(["b", "c"]);
    s.close();
    const r = openStore(dir);
    const recs = add(r, ["d", "b"]); // even a removed id gets a new offset
    expect(recs.map((x) => x.offset)).toEqual([3, 4]);
    expect(Array.from(r.liveOffsets())).toEqual([0, 3, 4]);
    expect(sameBits(r.vectors().xs, vectorsFor(["a", "d", "b"], DIM))).toBe(true);
    expect(r.verify()).toEqual({ ok: true, problems: [] });
  });

  it("drops blocks whose items are all removed and keeps the rest intact (verify stays clean)", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `i${i}`);
    const s = seeded(ids, { blockSize: 4 });
    s.remove(["i0", "i1", "i2", "i3", "i5"]); // block 0 empties, block 1 keeps i4, i6, i7
    expect(s.verify()).toEqual({ ok: true, problems: [] });
    const { offsets, xs } = s.vectors();
    expect(Array.from(offsets)).toEqual([4, 6, 7, 8, 9]);
    expect(sameBits(xs, vectorsFor(["i4", "i6", "i7", "i8", "i9"], DIM))).toBe(true);
    s.remove(ids);
    expect(s.counts()).toEqual({ images: 0, texts: 0, pairs: 0 });
    expect(s.verify()).toEqual({ ok: true, problems: [] });
    expect(add(s, ["new"])[0].offset).toBe(10);
  });
});

describe("settings and generation", () => {
  it("stores JSON settings without bumping the generation", () => {
    const s = seeded(["a"]);
    const gen = s.generation();
    expect(s.getSetting("ivf")).toBeUndefined();
    s.setSetting("ivf", { nprobe: 16, nlist: 1024, file: "ivf.bin" });
    expect(s.getSetting<{ nprobe: number }>("ivf")).toEqual({ nprobe: 16, nlist: 1024, file: "ivf.bin" });
    s.setSetting("ivf", 3);
    expect(s.getSetting<number>("ivf")).toBe(3);
    s.setSetting("ivf", undefined);
    expect(s.getSetting("ivf")).toBeUndefined();
    expect(s.generation()).toBe(gen);
    expect(() => s.setSetting("bad", { n: 1n })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("bumps the generation on every data write and not on failed ones", () => {
    const s = openStore();
    const g0 = s.generation();
    s.setModel("m", DIM);
    const g1 = s.generation();
    add(s, ["i", "t"]);
    const g2 = s.generation();
    s.addPairs([{ imageId: "i", textId: "t" }]);
    const g3 = s.generation();
    s.remove(["t"]);
    const g4 = s.generation();
    expect([g0, g1, g2, g3, g4]).toEqual([0, 1, 2, 3, 4]);
    expect(() => add(s, ["i"])).toThrow();
    expect(s.generation()).toBe(g4);
  });
});

describe("transaction", () => {
  it("commits several writes at once, and rolls all back when fn throws", () => {
    const s = seeded([]);
    s.transaction(() => {
      add(s, ["a"]);
      add(s, ["b"]);
      s.setSetting("k", 1);
    });
    expect(s.counts().images).toBe(2);
    expect(() =>
      s.transaction(() => {
        add(s, ["c"]);
        s.setSetting("k", 2);
        s.remove(["a"]);
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(s.get("c")).toBeUndefined();
    expect(s.get("a")).toBeDefined();
    expect(s.getSetting("k")).toBe(1);
    expect(s.nextOffset()).toBe(2);
  });

  it("lets a caught failing write inside it roll back alone (savepoint)", () => {
    const s = seeded(["a"]);
    s.transaction(() => {
      add(s, ["b"]);
      expect(() => add(s, ["c", "a"])).toThrow(expect.objectContaining({ code: "DUPLICATE_ID" }));
      add(s, ["d"]);
    });
    expect(s.liveOffsets().length).toBe(3);
    expect(s.get("c")).toBeUndefined();
    expect(s.get("d")!.offset).toBe(2);
  });
});

describe("concurrent access", () => {
  it("a read-only store sees committed writes of a writer and refuses to write", () => {
    const dir = tmpDir();
    const w = openStore(dir);
    w.setModel("m", DIM);
    add(w, ["a"]);
    const r = openStore(dir, { readonly: true });
    expect(r.readonly).toBe(true);
    expect(r.counts().images).toBe(1);
    add(w, ["b", "c"]);
    expect(r.counts().images).toBe(3);
    expect(sameBits(r.vectors().xs, vectorsFor(["a", "b", "c"], DIM))).toBe(true);
    expect(() => r.addItems([item("z", "image")], vectorsFor(["z"], DIM))).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => r.setSetting("k", 1)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => r.remove(["a"])).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    // A read-only transaction is one snapshot: a write that commits meanwhile is not seen.
    r.transaction(() => {
      const before = r.counts().images;
      add(w, ["d"]);
      expect(r.counts().images).toBe(before);
    });
    expect(r.counts().images).toBe(4);
  });

  it("a second writer waits busyTimeoutMs, then gets a clear error", () => {
    const dir = tmpDir();
    const a = openStore(dir);
    a.setModel("m", DIM);
    const b = openStore(dir, { busyTimeoutMs: 50 });
    a.transaction(() => {
      add(a, ["x"]);
      expect(() => add(b, ["y"])).toThrow(expect.objectContaining({ code: "LOCK_TIMEOUT", message: expect.stringMatching(/locked by another writer/) }));
    });
    add(b, ["y"]);
    expect(a.counts().images).toBe(2);
  });
});

describe("bytes and verify", () => {
  it("reports the on-disk size of database and log", () => {
    const s = seeded([]);
    const before = s.bytes();
    expect(before).toBeGreaterThan(0);
    add(s, Array.from({ length: 200 }, (_, i) => `i${i}`));
    expect(s.bytes()).toBeGreaterThan(before + 200 * DIM * 4);
    expect(s.verify().ok).toBe(true);
  });
});
