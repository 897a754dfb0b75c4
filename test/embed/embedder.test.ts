import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCacheDir, loadEmbedder, type Embedder, type ModelProgress } from "../../src/embed/index.js";
import { sharedDataDir, testModelDir } from "../fixtures/model.js";

const COCO = path.join(sharedDataDir(), "coco-val2017-sample/images");
const FLICKR = path.join(sharedDataDir(), "flickr8k-test/images");
const images = [...readdirSync(COCO).sort().slice(0, 3).map((f) => path.join(COCO, f)), ...readdirSync(FLICKR).sort().slice(0, 3).map((f) => path.join(FLICKR, f))];

const row = (xs: Float32Array, i: number, dim: number) => xs.subarray(i * dim, (i + 1) * dim);
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Serves a model folder the way the hub does: GET /<owner>/<name>/resolve/main/<file>. */
function serveModel(dir: string, id: string): Promise<{ url: string; server: http.Server; requests: string[] }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const prefix = `/${id}/resolve/main/`;
    const rel = decodeURIComponent((req.url ?? "").split("?")[0]).slice(prefix.length);
    const file = path.join(dir, rel);
    if (!(req.url ?? "").startsWith(prefix) || rel.includes("..") || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end("not found");
      return;
    }
    const body = readFileSync(file);
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" }).end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server, requests })));
}

describe("loadEmbedder on the generated tiny CLIP model", () => {
  let emb: Embedder;
  const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-embedder-"));

  beforeAll(async () => {
    emb = await loadEmbedder(testModelDir(), { threads: 1, batchSize: 4 });
  });
  afterAll(async () => {
    await emb.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("reads modelId and dim, and returns L2-normalised rows", async () => {
    expect(emb.modelId).toBe(testModelDir());
    expect(emb.dim).toBe(32);
    const xs = await emb.embedTexts(["a photo of a cat", "a dog"]);
    const ys = await emb.embedImages(images.slice(0, 2));
    for (const [m, n] of [[xs, 2], [ys, 2]] as const) {
      expect(m.length).toBe(n * 32);
      for (let i = 0; i < n; i++) expect(Math.hypot(...row(m, i, 32))).toBeCloseTo(1, 5);
    }
    expect(await emb.embedTexts([])).toEqual(new Float32Array(0));
    expect(await emb.embedImages([])).toEqual(new Float32Array(0));
  });

  it("gives a text the same vector alone or batched with longer texts (padding does not leak)", async () => {
    const texts = ["a cat", "a very long caption about two dogs playing with a red ball on a sandy beach", "x", "a cat"];
    const batched = await emb.embedTexts(texts);
    const alone = await emb.embedTexts(["a cat"]);
    expect(maxAbsDiff(row(batched, 0, 32), alone)).toBeLessThan(1e-5);
    expect(maxAbsDiff(row(batched, 3, 32), alone)).toBeLessThan(1e-5);
    // Order is restored even though batches are formed by length.
    const one = await emb.embedTexts(["x"]);
    expect(maxAbsDiff(row(batched, 2, 32), one)).toBeLessThan(1e-5);
  });

  it("cuts long texts to 77 tokens and keeps the end-of-text token, like CLIP's tokenizer", async () => {
    // "cat " x 100 -> [SOT, cat x 100, EOT] -> cut to [SOT, cat x 75, EOT], which is "cat " x 75.
    const [long, cut] = [await emb.embedTexts(["cat ".repeat(100)]), await emb.embedTexts(["cat ".repeat(75)])];
    expect(maxAbsDiff(long, cut)).toBeLessThan(1e-5);
    const shorter = await emb.embedTexts(["cat ".repeat(74)]);
    expect(maxAbsDiff(long, shorter)).toBeGreaterThan(1e-3);
    // A megabyte of text is cut before tokenising and gives the same vector.
    expect(maxAbsDiff(await emb.embedTexts(["cat ".repeat(250_000)]), cut)).toBeLessThan(1e-5);
  });

  it("embeds paths and buffers alike, across batch boundaries", async () => {
    const byPath = await emb.embedImages(images); // 6 images, batches of 4
    const byBuffer = await emb.embedImages(images.map((f) => readFileSync(f)));
    expect(maxAbsDiff(byPath, byBuffer)).toBe(0);
    const single = await emb.embedImages([images[5]]);
    expect(maxAbsDiff(row(byPath, 5, 32), single)).toBeLessThan(1e-5);
  });

  it("embedImagesSettled goes on past bad files; embedImages throws IMAGE_DECODE naming the file", async () => {
    const bad = path.join(tmp, "broken.jpg");
    writeFileSync(bad, readFileSync(images[0]).subarray(0, 3000));
    const empty = path.join(tmp, "empty.png");
    writeFileSync(empty, Buffer.alloc(0));
    const inputs = [images[0], bad, images[1], empty, images[2]];
    const { vectors, errors } = await emb.embedImagesSettled(inputs);
    expect(errors.map((e) => e?.code)).toEqual([undefined, "IMAGE_DECODE", undefined, "IMAGE_DECODE", undefined]);
    expect(errors[1]!.message).toContain("broken.jpg");
    expect(errors[3]!.message).toContain("empty.png");
    expect(row(vectors, 1, 32).every((v) => v === 0)).toBe(true);
    const good = await emb.embedImages([images[0], images[1], images[2]]);
    // Every good row, including images[1], which moved over the broken file's slot of the batch.
    [0, 2, 4].forEach((r, j) => expect(maxAbsDiff(row(vectors, r, 32), row(good, j, 32)), `row ${r}`).toBeLessThan(1e-5));
    await expect(emb.embedImages([images[0], bad])).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    await expect(emb.embedImages([images[0], bad])).rejects.toThrow(/broken\.jpg/);
  });

  it("gives the same vectors and errors with decoding overlapped with inference or between runs", async () => {
    const bad = path.join(tmp, "broken2.jpg");
    writeFileSync(bad, readFileSync(images[0]).subarray(0, 3000));
    const inputs = [...images, bad, images[0]]; // 8 inputs, batches of 4: a bad file in the second batch
    const overlapped = await loadEmbedder(testModelDir(), { threads: 1, batchSize: 4, overlapDecoding: true });
    const between = await loadEmbedder(testModelDir(), { threads: 1, batchSize: 4, overlapDecoding: false });
    try {
      const a = await overlapped.embedImagesSettled(inputs);
      const b = await between.embedImagesSettled(inputs);
      expect(maxAbsDiff(a.vectors, b.vectors)).toBe(0);
      expect(a.errors.map((e) => e?.code)).toEqual([...images.map(() => undefined), "IMAGE_DECODE", undefined]);
      expect(b.errors.map((e) => e?.code)).toEqual(a.errors.map((e) => e?.code));
      await expect(between.embedImages(inputs)).rejects.toMatchObject({ code: "IMAGE_DECODE" });
    } finally {
      await Promise.all([overlapped.dispose(), between.dispose()]);
    }
  });

  it("is safe under concurrent callers (Promise.all gives the sequential results)", async () => {
    const texts = [["a cat"], ["a dog on the beach", "two birds"], ["hello world"], ["a photo of a cat", "x", "y", "z", "w"]];
    const imgs = [images.slice(0, 3), images.slice(3), [images[1]]];
    const seqT = [];
    for (const t of texts) seqT.push(await emb.embedTexts(t));
    const seqI = [];
    for (const i of imgs) seqI.push(await emb.embedImages(i));
    const all = await Promise.all([...texts.map((t) => emb.embedTexts(t)), ...imgs.map((i) => emb.embedImages(i))]);
    [...seqT, ...seqI].forEach((s, k) => expect(maxAbsDiff(all[k], s)).toBeLessThan(1e-5));
  });

  it("rejects bad inputs and options with INVALID_ARGUMENT", async () => {
    await expect(emb.embedTexts([42 as unknown as string])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(emb.embedImages([{} as unknown as string])).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(loadEmbedder(testModelDir(), { batchSize: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(loadEmbedder(testModelDir(), { batchSize: 1000 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(loadEmbedder(testModelDir(), { threads: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(loadEmbedder(testModelDir(), { dtype: "int4" as "fp32" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(loadEmbedder(testModelDir(), { preprocess: "fast" as "exact" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(loadEmbedder(testModelDir(), { preprocess: "sharp", threads: 1 }).then((e) => e.dispose())).resolves.toBeUndefined();
  });

  it("fails with MODEL_UNAVAILABLE for a dtype the folder does not ship", async () => {
    const noQ8 = path.join(tmp, "no-q8");
    mkdirSync(path.join(noQ8, "onnx"), { recursive: true });
    for (const f of ["config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "onnx/text_model.onnx", "onnx/vision_model.onnx"]) {
      copyFileSync(path.join(testModelDir(), f), path.join(noQ8, f));
    }
    await expect(loadEmbedder(noQ8, { dtype: "q8" })).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
    await expect(loadEmbedder(noQ8, { dtype: "q8" })).rejects.toThrow(/q8/);
  });

  it("memory stays flat over repeated calls (short version of bench:embed; generous bound)", async () => {
    const { setFlagsFromString } = await import("node:v8");
    const { runInNewContext } = await import("node:vm");
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const round = async () => {
      for (let i = 0; i < 50; i++) await emb.embedTexts([`query number ${i}`, "a photo of a cat"]);
      await emb.embedImages(images);
    };
    for (let i = 0; i < 3; i++) await round(); // warm-up
    gc();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 20; i++) await round(); // 2,000 texts, 120 images
    gc();
    const growth = (process.memoryUsage().rss - before) / before;
    expect(growth).toBeLessThan(0.25); // measured: 3.5-4.5% after the first block, then flat
  });
});

describe("model availability", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-avail-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("offline with an empty cache: MODEL_UNAVAILABLE naming the model, the folder and the fix", async () => {
    const cacheDir = path.join(tmp, "empty-cache");
    const p = loadEmbedder("Xenova/clip-vit-base-patch32", { cacheDir, offline: true });
    await expect(p).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE", details: { model: "Xenova/clip-vit-base-patch32", searched: path.join(cacheDir, "Xenova/clip-vit-base-patch32") } });
    await expect(loadEmbedder("Xenova/clip-vit-base-patch32", { cacheDir, offline: true })).rejects.toThrow(/Connect to the internet once.*local model folder/);
  });

  it("CLIPDB_OFFLINE=1 means offline", async () => {
    const old = process.env.CLIPDB_OFFLINE;
    process.env.CLIPDB_OFFLINE = "1";
    try {
      // A mirror that would answer is never asked.
      const { url, server, requests } = await serveModel(testModelDir(), "clipdb/tiny-random-clip");
      try {
        await expect(loadEmbedder("clipdb/tiny-random-clip", { cacheDir: path.join(tmp, "env-offline"), remoteHost: url })).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
        expect(requests).toEqual([]);
      } finally {
        server.close();
      }
    } finally {
      if (old === undefined) delete process.env.CLIPDB_OFFLINE;
      else process.env.CLIPDB_OFFLINE = old;
    }
  });

  it("a missing local folder, or one without config.json: MODEL_UNAVAILABLE naming the folder", async () => {
    const missing = path.join(tmp, "no-such-model");
    await expect(loadEmbedder(missing)).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE", details: { searched: missing } });
    const emptyDir = path.join(tmp, "not-a-model");
    mkdirSync(emptyDir);
    await expect(loadEmbedder(emptyDir)).rejects.toThrow(/not-a-model.*config\.json/);
  });

  it("a mirror that never answers fails fast with MODEL_UNAVAILABLE instead of hanging", async () => {
    const sockets = new Set<import("node:net").Socket>();
    const server = http.createServer(() => {}); // accepts, never responds
    server.on("connection", (s) => sockets.add(s));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      const p = loadEmbedder("clipdb/never-answers", { cacheDir: path.join(tmp, "hang"), remoteHost: url, timeoutMs: 200 });
      await expect(p).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
      await expect(loadEmbedder("clipdb/never-answers", { cacheDir: path.join(tmp, "hang"), remoteHost: url, timeoutMs: 200 })).rejects.toThrow(/no response/);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it("a hub id the mirror does not have (404): MODEL_UNAVAILABLE", async () => {
    const { url, server } = await serveModel(testModelDir(), "clipdb/tiny-random-clip");
    try {
      await expect(loadEmbedder("clipdb/unknown-model", { cacheDir: path.join(tmp, "404"), remoteHost: url })).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
    } finally {
      server.close();
    }
  });

  it("downloads a hub model once into the cache folder with progress, then loads it offline", async () => {
    const id = "clipdb/tiny-random-clip";
    const cacheDir = path.join(tmp, "cache");
    const events: ModelProgress[] = [];
    const { url, server } = await serveModel(testModelDir(), id);
    let online: Embedder;
    try {
      online = await loadEmbedder(id, { cacheDir, remoteHost: url, onProgress: (p) => events.push(p) });
    } finally {
      server.close();
    }
    expect(statSync(path.join(cacheDir, id, "onnx/vision_model.onnx")).size).toBe(statSync(path.join(testModelDir(), "onnx/vision_model.onnx")).size);
    const done = events.filter((e) => e.status === "done").map((e) => e.file);
    expect(done).toEqual(expect.arrayContaining(["config.json", "tokenizer.json", "onnx/text_model.onnx", "onnx/vision_model.onnx"]));
    expect(events.some((e) => e.file === "onnx/text_model.onnx" && e.total > 0 && e.loaded === e.total)).toBe(true);

    // The mirror is gone: offline loading from the cache works and gives the same vectors.
    const offline = await loadEmbedder(id, { cacheDir, offline: true });
    const local = await loadEmbedder(testModelDir());
    try {
      const t = ["a photo of a cat"];
      expect(maxAbsDiff(await offline.embedTexts(t), await local.embedTexts(t))).toBeLessThan(1e-6);
      expect(maxAbsDiff(await online!.embedImages([images[0]]), await local.embedImages([images[0]]))).toBeLessThan(1e-6);
    } finally {
      await Promise.all([offline.dispose(), local.dispose(), online!.dispose()]);
    }
  });

  it("defaults the cache folder to $CLIPDB_CACHE", () => {
    const old = process.env.CLIPDB_CACHE;
    process.env.CLIPDB_CACHE = path.join(tmp, "env-cache");
    try {
      expect(defaultCacheDir()).toBe(path.join(tmp, "env-cache"));
    } finally {
      if (old === undefined) delete process.env.CLIPDB_CACHE;
      else process.env.CLIPDB_CACHE = old;
    }
  });
});
