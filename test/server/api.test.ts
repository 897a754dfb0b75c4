/**
 * HTTP API tests, in process (app.inject, no port), on a real Collection embedded with the generated
 * tiny test model over real COCO images. Every route and every error status is covered.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { testModelDir } from "../fixtures/model.js";
import { STORES, location, stopStores, type StoreName } from "../fixtures/stores.js";
import { cocoImages, dot, multipart, pngBomb } from "./helpers.js";

const enc = encodeURIComponent;
const SECRET = "TOP-SECRET-DO-NOT-SERVE";

let tmp: string;
let col: Collection;
let app: FastifyInstance;
let modelDir: string;
const ids: string[] = [];
const sources = new Map<string, string>();
let rotatedId: string;
let oddId: string;

/**
 * The collection every test below reads: 7 COCO images with their captions. On SQLite they are
 * added by path; on Postgres by their bytes, since a Postgres collection serves only what it stores.
 */
async function setup(store: StoreName): Promise<void> {
  ids.length = 0;
  sources.clear();
  modelDir = await testModelDir();
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-api-"));
  const src = path.join(tmp, "src");
  mkdirSync(src);
  writeFileSync(path.join(tmp, "secret.txt"), SECRET);
  col = await Collection.open(await location(store, tmp, "db"), { model: modelDir, offline: true });

  const imgs = cocoImages(6);
  const inputs = imgs.map((img, i) => {
    const file = path.join(src, img.name);
    copyFileSync(img.file, file);
    // One id with the characters that must be URL-encoded: '/', '#', space.
    const id = i === 0 ? "trips/day one/#1 beach.jpg" : `coco/${img.name}`;
    sources.set(id, file);
    ids.push(id);
    return { path: file, id, captions: img.captions };
  });
  oddId = ids[0];
  // A photo stored sideways, as a camera held upright writes it: portrait pixels (a landscape photo
  // turned 90° counter-clockwise) with EXIF orientation 6, "rotate 90° clockwise to view".
  const land = cocoImages(1, { landscape: true, skip: 10 })[0];
  const rotated = path.join(src, "exif6.jpg");
  const sideways = await sharp(land.file).rotate(270).toBuffer();
  writeFileSync(rotated, await sharp(sideways).withMetadata({ orientation: 6 }).jpeg({ quality: 90 }).toBuffer());
  rotatedId = "exif6.jpg";
  sources.set(rotatedId, rotated);
  inputs.push({ path: rotated, id: rotatedId, captions: ["a photo stored sideways"] });

  const byStore = store === "sqlite" ? inputs : inputs.map(({ path: file, ...rest }) => ({ ...rest, data: readFileSync(file), name: path.basename(file) }));
  const summary = await col.addImages(byStore);
  expect(summary.failed).toBe(0);
  app = await buildServer(col, { webRoot: false });
}

async function teardown(): Promise<void> {
  await app?.close();
  await col?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
}

afterAll(() => stopStores());

/** Asserts the JSON error shape and returns the error. */
function expectError(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(5);
  // Never a stack trace.
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  return body.error;
}

const searchJson = (body: unknown) => app.inject({ method: "POST", url: "/api/v1/search", payload: body as object });

describe.each(STORES)("HTTP API (%s)", (store) => {
  beforeAll(() => setup(store), 120_000);
  afterAll(() => teardown());

  describe("status", () => {
    it("GET /health answers ok with the model and dim", async () => {
      const res = await app.inject({ url: "/api/v1/health" });
      expect(res.statusCode).toBe(200);
      // A local model folder is shown by its folder name, never its absolute path.
      expect(res.json()).toMatchObject({ status: "ok", model: path.basename(col.modelId!), dim: col.dim });
    });

    it("GET /stats counts images, texts and pairs", async () => {
      const res = await app.inject({ url: "/api/v1/stats" });
      expect(res.statusCode).toBe(200);
      const s = res.json();
      expect(s).toMatchObject({ images: 7, texts: 31, pairs: 31, dim: col.dim, model: path.basename(col.modelId!) });
      expect(Array.isArray(s.indexes)).toBe(true);
      // The index kinds this store offers, as the UI's selector lists them.
      const kinds = s.kinds.map((k: { name: string; kind: string; param: string }) => `${k.name}:${k.kind}:${k.param}`);
      if (store === "sqlite") expect(kinds.slice(0, 2)).toEqual(["hnsw:hnsw:ef", "ivf:ivf:nprobe"]); // then any other file kinds
      else expect(kinds).toEqual(["hnsw:pgvector-hnsw:ef", "ivf:pgvector-ivfflat:nprobe"]);
      expect(s.bytes).toBeGreaterThan(0);
    });
  });

  describe("POST /api/v1/search", () => {
    it("text search returns k ranked hits with true cosine scores", async () => {
      const res = await searchJson({ text: "a dog on a beach", k: 5, modality: "image" });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.index).toBe("exact");
      expect(body.results).toHaveLength(5);
      expect(body.results.map((r: { rank: number }) => r.rank)).toEqual([1, 2, 3, 4, 5]);
      for (const r of body.results) expect(r.modality).toBe("image");
      const scores = body.results.map((r: { score: number }) => r.score);
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      expect(body.scanned).toBeGreaterThan(0);
      expect(typeof body.ms).toBe("number");
    });

    it("vector search scores are the cosines between the query and each item", async () => {
      const q = (await col.vectorOf(ids[1]))!;
      const res = await searchJson({ vector: Array.from(q), k: 8, modality: "any" });
      expect(res.statusCode).toBe(200);
      const results = res.json().results as { id: string; score: number }[];
      expect(results[0].id).toBe(ids[1]);
      expect(results[0].score).toBeCloseTo(1, 5);
      for (const r of results) expect(r.score).toBeCloseTo(dot(q, (await col.vectorOf(r.id))!), 5);
    });

    it("item search works with ids that need URL-encoding, and hits carry their pairs", async () => {
      const res = await searchJson({ item: oddId, k: 10, modality: "text" });
      expect(res.statusCode).toBe(200);
      const results = res.json().results as { id: string; modality: string; pairs: string[] }[];
      expect(results.length).toBe(10);
      for (const r of results) {
        expect(r.modality).toBe("text");
        expect(r.pairs).toEqual((await col.get(r.id))!.pairs);
        expect(r.pairs).toHaveLength(1);
      }
    });

    it("applies a metadata filter", async () => {
      const add = await multipartReq("/api/v1/items", { text: "a filtered text item", id: "filtered-1", meta: '{"split":"val"}' });
      expect(add.statusCode).toBe(201);
      const res = await searchJson({ text: "anything", k: 5, modality: "text", where: { split: "val" } });
      expect(res.statusCode).toBe(200);
      expect(res.json().results.map((r: { id: string }) => r.id)).toEqual(["filtered-1"]);
      await app.inject({ method: "DELETE", url: "/api/v1/items/filtered-1" });
    });

    it.each([
      ["an unknown field", { txt: "dog" }],
      ["no query", { k: 3 }],
      ["two queries", { text: "dog", item: "coco/000000397133.jpg" }],
      ["a blank text", { text: "   " }],
      ["k = 0", { text: "dog", k: 0 }],
      ["k above 1000", { text: "dog", k: 5000 }],
      ["k as a string", { text: "dog", k: "5" }],
      ["a bad modality", { text: "dog", modality: "video" }],
      ["a bad index", { text: "dog", index: "lsh" }],
      ["nprobe = 0", { text: "dog", index: "ivf", nprobe: 0 }],
      ["a where that is not an object", { text: "dog", where: "split=val" }],
      ["a vector of strings", { vector: ["a", "b"] }],
    ])("answers 400 INVALID_ARGUMENT for %s", async (_name, body) => {
      expectError(await searchJson(body), 400, "INVALID_ARGUMENT");
    });

    it("answers 400 DIM_MISMATCH for a vector of the wrong dimension", async () => {
      expectError(await searchJson({ vector: [0.1, 0.2, 0.3] }), 400, "DIM_MISMATCH");
    });

    it("answers 400 INVALID_VECTOR for a zero vector", async () => {
      expectError(await searchJson({ vector: new Array(col.dim).fill(0) }), 400, "INVALID_VECTOR");
    });

    it("answers 400 for malformed JSON and for an empty body", async () => {
      const bad = await app.inject({ method: "POST", url: "/api/v1/search", payload: '{"text": "dog"', headers: { "content-type": "application/json" } });
      expectError(bad, 400, "INVALID_ARGUMENT");
      const empty = await app.inject({ method: "POST", url: "/api/v1/search", payload: "", headers: { "content-type": "application/json" } });
      expectError(empty, 400, "INVALID_ARGUMENT");
    });

    it("answers 404 NOT_FOUND for an unknown item", async () => {
      const err = expectError(await searchJson({ item: "no/such item" }), 404, "NOT_FOUND");
      expect(err.message).toContain("no/such item");
    });

    it("answers 409 INDEX_NOT_BUILT for an index that was not built, then uses it once built", async () => {
      expectError(await searchJson({ text: "dog", index: "hnsw" }), 409, "INDEX_NOT_BUILT");
      await col.buildIndex({ type: "hnsw" });
      const res = await searchJson({ text: "dog", index: "hnsw", ef: 32, k: 3, modality: "image" });
      expect(res.statusCode).toBe(200);
      expect(res.json().index).toBe("hnsw");
      expect(res.json().results).toHaveLength(3);
      col.dropIndex("hnsw");
    });

    it("answers 415 for a body that is not JSON", async () => {
      const res = await app.inject({ method: "POST", url: "/api/v1/search", payload: "text=dog", headers: { "content-type": "application/x-www-form-urlencoded" } });
      expectError(res, 415, "UNSUPPORTED_MEDIA");
      const plain = await app.inject({ method: "POST", url: "/api/v1/search", payload: "dog", headers: { "content-type": "text/plain" } });
      expectError(plain, 415, "UNSUPPORTED_MEDIA");
    });

    it("answers 413 for a JSON body above the body limit", async () => {
      const res = await app.inject({
        method: "POST",
        url: "/api/v1/search",
        payload: JSON.stringify({ text: "x".repeat(2 * 1024 * 1024) }),
        headers: { "content-type": "application/json" },
      });
      const err = expectError(res, 413, "PAYLOAD_TOO_LARGE");
      expect(err.message).toContain(String(1024 * 1024));
    });
  });

  async function multipartReq(url: string, fields: Record<string, string>, file?: Parameters<typeof multipart>[1], extra: Record<string, string> = {}, server = app) {
    const { payload, headers } = await multipart(fields, file);
    return server.inject({ method: "POST", url, payload, headers: { ...headers, ...extra } });
  }

  describe("POST /api/v1/search/image", () => {
    it("an uploaded copy of an item finds that item first, with cosine ≈ 1", async () => {
      const data = readFileSync(sources.get(ids[2])!);
      const res = await multipartReq("/api/v1/search/image", { k: "3", modality: "image" }, { field: "file", name: "q.jpg", type: "image/jpeg", data });
      expect(res.statusCode).toBe(200);
      const results = res.json().results as { id: string; score: number }[];
      expect(results).toHaveLength(3);
      expect(results[0].id).toBe(ids[2]);
      expect(results[0].score).toBeGreaterThan(0.999);
    });

    it("accepts application/octet-stream uploads and leaves the type to the decoder", async () => {
      const data = readFileSync(sources.get(ids[3])!);
      const res = await multipartReq("/api/v1/search/image", { k: "1", modality: "image" }, { field: "file", name: "blob", type: "application/octet-stream", data });
      expect(res.statusCode).toBe(200);
      expect(res.json().results[0].id).toBe(ids[3]);
    });

    it("answers 400 without a file, with a bad option, or with an unknown field", async () => {
      expectError(await multipartReq("/api/v1/search/image", { k: "3" }), 400, "INVALID_ARGUMENT");
      const data = readFileSync(sources.get(ids[2])!);
      const file = { field: "file", name: "q.jpg", type: "image/jpeg", data };
      expectError(await multipartReq("/api/v1/search/image", { k: "many" }, file), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/search/image", { where: "{oops" }, file), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/search/image", { colour: "red" }, file), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/search/image", {}, { ...file, field: "photo" }), 400, "INVALID_ARGUMENT");
    });

    it("answers 415 for a non-image file type and for a JSON body", async () => {
      const res = await multipartReq("/api/v1/search/image", {}, { field: "file", name: "notes.pdf", type: "application/pdf", data: Buffer.from("%PDF-1.4") });
      expectError(res, 415, "UNSUPPORTED_MEDIA");
      const svg = await multipartReq("/api/v1/search/image", {}, { field: "file", name: "x.svg", type: "image/svg+xml", data: Buffer.from("<svg/>") });
      expectError(svg, 415, "UNSUPPORTED_MEDIA");
      const json = await app.inject({ method: "POST", url: "/api/v1/search/image", payload: { text: "dog" } });
      expectError(json, 415, "UNSUPPORTED_MEDIA");
    });

    it("answers 422 IMAGE_DECODE for bytes that are not an image", async () => {
      const res = await multipartReq("/api/v1/search/image", {}, { field: "file", name: "x.jpg", type: "image/jpeg", data: Buffer.from("this is not a jpeg at all, just text") });
      expectError(res, 422, "IMAGE_DECODE");
      const half = readFileSync(sources.get(ids[2])!).subarray(0, 600);
      expectError(await multipartReq("/api/v1/search/image", {}, { field: "file", name: "cut.jpg", type: "image/jpeg", data: half }), 422, "IMAGE_DECODE");
    });

    it("answers 422 IMAGE_TOO_LARGE for a decompression bomb", async () => {
      const res = await multipartReq("/api/v1/search/image", {}, { field: "file", name: "bomb.png", type: "image/png", data: pngBomb(40000, 40000) });
      expectError(res, 422, "IMAGE_TOO_LARGE");
    });

    it("accepts uploads above the JSON body limit, up to the upload limit", async () => {
      // 3 MB of bytes that are not an image: past the 1 MiB JSON limit, so a 422 proves the upload path.
      const big = Buffer.alloc(3 * 1024 * 1024, 7);
      const res = await multipartReq("/api/v1/search/image", {}, { field: "file", name: "big.jpg", type: "image/jpeg", data: big });
      expectError(res, 422, "IMAGE_DECODE");
    });

    it("answers 413 above the upload limit", async () => {
      const small = await buildServer(col, { webRoot: false, uploadLimit: 10_000 });
      try {
        const data = readFileSync(sources.get(ids[2])!);
        expect(data.length).toBeGreaterThan(10_000);
        const res = await multipartReq("/api/v1/search/image", {}, { field: "file", name: "q.jpg", type: "image/jpeg", data }, {}, small);
        const err = expectError(res, 413, "PAYLOAD_TOO_LARGE");
        expect(err.message).toContain("10000");
        const add = await multipartReq("/api/v1/items", {}, { field: "image", name: "q.jpg", type: "image/jpeg", data }, {}, small);
        expectError(add, 413, "PAYLOAD_TOO_LARGE");
      } finally {
        await small.close();
      }
    });
  });

  describe("items", () => {
    it("GET /items/:id returns the item with its pairs (id with '/', '#' and spaces)", async () => {
      const res = await app.inject({ url: `/api/v1/items/${enc(oddId)}` });
      expect(res.statusCode).toBe(200);
      const item = res.json();
      // The path as a file name: the server's folders are not shown.
      // SQLite: the source file by name; Postgres: the stored upload's name (nothing of the server's disk).
      expect(item).toMatchObject({ id: oddId, modality: "image", path: store === "sqlite" ? path.basename(sources.get(oddId)!) : expect.stringMatching(/^[0-9a-f]{64}\.jpg$/) });
      expect(item.pairs).toHaveLength(5);
      const cap = await app.inject({ url: `/api/v1/items/${enc(item.pairs[0])}` });
      expect(cap.statusCode).toBe(200);
      expect(cap.json()).toMatchObject({ modality: "text", pairs: [oddId] });
    });

    it("GET /items/:id/image serves the item's own bytes, with an ETag", async () => {
      const res = await app.inject({ url: `/api/v1/items/${enc(ids[1])}/image` });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("image/jpeg");
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.rawPayload.equals(readFileSync(sources.get(ids[1])!))).toBe(true);
      const etag = String(res.headers.etag);
      expect(etag).toMatch(/^".+"$/);
      const again = await app.inject({ url: `/api/v1/items/${enc(ids[1])}/image`, headers: { "if-none-match": etag } });
      expect(again.statusCode).toBe(304);
      expect(again.rawPayload.length).toBe(0);
    });

    it("GET /items/:id/thumb is a small JPEG, rotated by its EXIF orientation", async () => {
      const stored = await sharp(sources.get(rotatedId)!).metadata();
      expect(stored.orientation).toBe(6);
      expect(stored.height!).toBeGreaterThan(stored.width!);
      const res = await app.inject({ url: `/api/v1/items/${enc(rotatedId)}/thumb` });
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toBe("image/jpeg");
      const meta = await sharp(res.rawPayload).metadata();
      expect(meta.format).toBe("jpeg");
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(256);
      // Upright: the portrait pixels, turned by EXIF 6, make a landscape thumbnail.
      expect(meta.width!).toBeGreaterThan(meta.height!);
      expect(meta.orientation ?? 1).toBe(1);
      const odd = await app.inject({ url: `/api/v1/items/${enc(oddId)}/thumb` });
      expect(odd.statusCode).toBe(200);
    });

    it("serves concurrent first requests for the same thumbnail, all 200 and the same bytes", async () => {
      // Not yet cached: every request makes the thumbnail and writes the cache at once.
      const id = ids[2];
      const got = await Promise.all(Array.from({ length: 8 }, () => app.inject({ url: `/api/v1/items/${enc(id)}/thumb` })));
      expect(got.map((r) => r.statusCode)).toEqual(Array(8).fill(200));
      for (const r of got) expect(r.rawPayload.equals(got[0].rawPayload)).toBe(true);
    });

    it("answers 404 for unknown ids and for the image of a text item", async () => {
      expectError(await app.inject({ url: "/api/v1/items/nope" }), 404, "NOT_FOUND");
      expectError(await app.inject({ url: "/api/v1/items/nope/image" }), 404, "NOT_FOUND");
      expectError(await app.inject({ url: "/api/v1/items/nope/thumb" }), 404, "NOT_FOUND");
      const caption = (await col.get(ids[1]))!.pairs[0];
      expectError(await app.inject({ url: `/api/v1/items/${enc(caption)}/image` }), 404, "NOT_FOUND");
      expectError(await app.inject({ url: `/api/v1/items/${enc(caption)}/thumb` }), 404, "NOT_FOUND");
      expectError(await app.inject({ url: "/api/v1/nothing-here" }), 404, "NOT_FOUND");
    });

    it("POST /items adds an image with a caption and metadata; re-adding it is skipped", async () => {
      const data = readFileSync(cocoImages(1, { skip: 20 })[0].file);
      const file = { field: "image", name: "upload.jpg", type: "image/jpeg", data };
      const res = await multipartReq("/api/v1/items", { id: "uploads/one", text: "an uploaded photo", meta: '{"source":"test"}' }, file);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ added: 1, skipped: 0, ids: ["uploads/one"] });
      const item = (await app.inject({ url: `/api/v1/items/${enc("uploads/one")}` })).json();
      expect(item).toMatchObject({ modality: "image", meta: { source: "test" } });
      expect(item.pairs).toHaveLength(1);
      const served = await app.inject({ url: `/api/v1/items/${enc("uploads/one")}/image` });
      expect(served.rawPayload.equals(data)).toBe(true);
      const found = await multipartReq("/api/v1/search/image", { k: "1", modality: "image" }, { ...file, field: "file" });
      expect(found.json().results[0].id).toBe("uploads/one");
      const again = await multipartReq("/api/v1/items", { id: "uploads/one", text: "an uploaded photo", meta: '{"source":"test"}' }, file);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ added: 0, skipped: 1 });
    });

    it("POST /items adds a text; DELETE removes it; a second DELETE is 404", async () => {
      const res = await multipartReq("/api/v1/items", { text: "a lonely text item", id: "notes/1" });
      expect(res.statusCode).toBe(201);
      expect((await app.inject({ url: "/api/v1/items/notes%2F1" })).json()).toMatchObject({ modality: "text", text: "a lonely text item" });
      const del = await app.inject({ method: "DELETE", url: "/api/v1/items/notes%2F1" });
      expect(del.statusCode).toBe(200);
      expect(del.json()).toEqual({ removed: 1 });
      expectError(await app.inject({ url: "/api/v1/items/notes%2F1" }), 404, "NOT_FOUND");
      expectError(await app.inject({ method: "DELETE", url: "/api/v1/items/notes%2F1" }), 404, "NOT_FOUND");
    });

    it("POST /items answers 400, 415 and 422 for bad uploads", async () => {
      expectError(await multipartReq("/api/v1/items", {}), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/items", { text: "x", meta: "[1,2]" }), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/items", { text: "x", meta: "{nope" }), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/items", { text: "x", colour: "red" }), 400, "INVALID_ARGUMENT");
      expectError(await multipartReq("/api/v1/items", { text: "  " }), 400, "INVALID_ARGUMENT");
      const json = await app.inject({ method: "POST", url: "/api/v1/items", payload: { text: "x" } });
      expectError(json, 415, "UNSUPPORTED_MEDIA");
      const pdf = await multipartReq("/api/v1/items", {}, { field: "image", name: "a.pdf", type: "application/pdf", data: Buffer.from("%PDF") });
      expectError(pdf, 415, "UNSUPPORTED_MEDIA");
      const junk = await multipartReq("/api/v1/items", {}, { field: "image", name: "a.jpg", type: "image/jpeg", data: Buffer.from("no image here, only words") });
      expectError(junk, 422, "IMAGE_DECODE");
      expect((await app.inject({ url: "/api/v1/stats" })).json().images).toBeGreaterThanOrEqual(7);
    });

    it("searches keep answering while an ingest runs", async () => {
      const more = cocoImages(4, { skip: 30 }).map((img) => ({ path: img.file, id: `more/${img.name}` }));
      const ingest = col.addImages(more);
      const searches = await Promise.all([
        searchJson({ text: "a kitchen", k: 3 }),
        app.inject({ url: "/api/v1/stats" }),
        searchJson({ item: ids[1], k: 3 }),
      ]);
      for (const s of searches) expect(s.statusCode).toBe(200);
      expect((await ingest).failed).toBe(0);
      expect(await col.remove(more.map((m) => m.id))).toBe(4);
    });
  });

  describe("path traversal", () => {
    const attempts = [
      "/api/v1/items/..%2f..%2f..%2f..%2fetc%2fpasswd/image",
      "/api/v1/items/..%2F..%2Fsecret.txt/image",
      "/api/v1/items/..%252f..%252fsecret.txt/image",
      "/api/v1/items/%2Fetc%2Fpasswd/image",
      "/api/v1/items/%2Fetc%2Fpasswd/thumb",
      "/api/v1/items/..%5c..%5csecret.txt/image",
      "/api/v1/items/%00/image",
    ];

    it.each(attempts)("%s is 404", async (url) => {
      const res = await app.inject({ url });
      expectError(res, 404, "NOT_FOUND");
      expect(res.body).not.toContain(SECRET);
      expect(res.body).not.toContain("root:");
    });

    it("an absolute path to a real file (even an item's own source) is not an id", async () => {
      for (const p of [path.join(tmp, "secret.txt"), sources.get(ids[1])!]) {
        const res = await app.inject({ url: `/api/v1/items/${enc(p)}/image` });
        expectError(res, 404, "NOT_FOUND");
        expect(res.body).not.toContain(SECRET);
      }
    });

    // A Postgres collection has no folder to plant links in.
    it.skipIf(store === "postgres")("symlinks planted in the collection folder are never reachable by id", async () => {
      symlinkSync(path.join(tmp, "secret.txt"), path.join(col.dir, "files-link.jpg"));
      mkdirSync(path.join(col.dir, "files"), { recursive: true });
      symlinkSync(path.join(tmp, "secret.txt"), path.join(col.dir, "files", "evil.jpg"));
      for (const id of ["files-link.jpg", "files/evil.jpg", "evil.jpg", "../secret.txt"]) {
        for (const variant of ["image", "thumb"]) {
          const res = await app.inject({ url: `/api/v1/items/${enc(id)}/${variant}` });
          expectError(res, 404, "NOT_FOUND");
          expect(res.body).not.toContain(SECRET);
        }
      }
    });

    it("an item whose file was swapped for a symlink to a file outside is not served", async () => {
      const victim = ids[4];
      const file = sources.get(victim)!;
      unlinkSync(file);
      symlinkSync(path.join(tmp, "secret.txt"), file);
      const res = await app.inject({ url: `/api/v1/items/${enc(victim)}/image` });
      expect(res.rawPayload.toString("latin1")).not.toContain(SECRET);
      if (store === "sqlite") expectError(res, 404, "NOT_FOUND");
      else expect(res.statusCode).toBe(200); // Postgres serves the bytes it stored, never the file
    });

    it("the static UI refuses paths outside its root", async () => {
      const web = path.join(tmp, "web");
      mkdirSync(web);
      writeFileSync(path.join(web, "index.html"), "<!doctype html><title>ui</title>");
      const ui = await buildServer(col, { webRoot: web });
      try {
        const home = await ui.inject({ url: "/" });
        expect(home.statusCode).toBe(200);
        expect(home.headers["content-type"]).toMatch(/^text\/html/);
        expect(home.headers["content-security-policy"]).toContain("default-src 'self'");
        for (const url of ["/..%2fsecret.txt", "/..%2F..%2Fsecret.txt", "/%2e%2e/secret.txt", "/../secret.txt", "/.%2e/secret.txt", `/${enc(path.join(tmp, "secret.txt"))}`]) {
          const res = await ui.inject({ url });
          expectError(res, 404, "NOT_FOUND");
          expect(res.body).not.toContain(SECRET);
        }
      } finally {
        await ui.close();
      }
    });
  });

  describe("tokens", () => {
    it("writes need the Bearer token when one is set; with --public-read, reads do not", async () => {
      // Without publicRead, reads off loopback need the token too (hardening.test.ts).
      const secured = await buildServer(col, { webRoot: false, token: "s3cret", host: "0.0.0.0", publicRead: true });
      try {
        const none = await multipartReq("/api/v1/items", { text: "tok test", id: "tok/1" }, undefined, {}, secured);
        expectError(none, 401, "UNAUTHORIZED");
        expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
        const wrong = await multipartReq("/api/v1/items", { text: "tok test", id: "tok/1" }, undefined, { authorization: "Bearer nope" }, secured);
        expectError(wrong, 401, "UNAUTHORIZED");
        expectError(await secured.inject({ method: "DELETE", url: `/api/v1/items/${enc(ids[1])}` }), 401, "UNAUTHORIZED");
        expect((await col.get(ids[1]))).toBeDefined();
        const ok = await multipartReq("/api/v1/items", { text: "tok test", id: "tok/1" }, undefined, { authorization: "Bearer s3cret" }, secured);
        expect(ok.statusCode).toBe(201);
        const del = await secured.inject({ method: "DELETE", url: "/api/v1/items/tok%2F1", headers: { authorization: "Bearer s3cret" } });
        expect(del.statusCode).toBe(200);
        expect((await secured.inject({ method: "POST", url: "/api/v1/search", payload: { text: "dog", k: 1 } })).statusCode).toBe(200);
        expect((await secured.inject({ url: "/api/v1/stats" })).statusCode).toBe(200);
      } finally {
        await secured.close();
      }
    });

    it("refuses to start on a non-loopback host without a token", async () => {
      await expect(buildServer(col, { webRoot: false, host: "0.0.0.0" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(buildServer(col, { webRoot: false, host: "192.168.1.10", token: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      const local = await buildServer(col, { webRoot: false, host: "::1" });
      await local.close();
    });
  });

  describe("internal errors", () => {
    // The failure made here is a SQLite collection's thumbnail folder; the shape is the server's, whatever the store.
    it.skipIf(store === "postgres")("are a 500 with a generic message and no stack trace or server path", async () => {
      // A real failure: the thumbnail cache folder is a file, so writing a thumbnail fails (ENOTDIR).
      const dir = path.join(tmp, "db2");
      const other = await Collection.open(dir, { model: modelDir, offline: true });
      const broken = await buildServer(other, { webRoot: false });
      try {
        const img = cocoImages(1, { skip: 40 })[0];
        expect((await other.addImages([{ path: img.file, id: "one.jpg" }])).failed).toBe(0);
        rmSync(path.join(dir, "thumbs"), { recursive: true, force: true });
        writeFileSync(path.join(dir, "thumbs"), "not a folder");
        const res = await broken.inject({ url: "/api/v1/items/one.jpg/thumb" });
        const err = expectError(res, 500, "INTERNAL");
        expect(err.message).not.toContain(dir);
        expect(res.body).not.toContain("ENOTDIR");
      } finally {
        await broken.close();
        await other.close();
      }
    });
  });

  describe("/openapi.json", () => {
    it("documents every route with its methods and responses", async () => {
      const res = await app.inject({ url: "/openapi.json" });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.openapi).toMatch(/^3\.1\./);
      expect(doc.info.title).toBe("clipdb");
      const expected: Record<string, string[]> = {
        "/api/v1/search": ["post"],
        "/api/v1/search/image": ["post"],
        "/api/v1/items": ["post"],
        "/api/v1/items/{id}": ["get", "delete"],
        "/api/v1/items/{id}/image": ["get"],
        "/api/v1/items/{id}/thumb": ["get"],
        "/api/v1/items/{id}/duplicates": ["get"],
        "/api/v1/duplicates": ["get"],
        "/api/v1/stats": ["get"],
        "/api/v1/health": ["get"],
      };
      expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(expected).sort());
      for (const [p, methods] of Object.entries(expected)) {
        for (const m of methods) {
          const op = doc.paths[p][m];
          expect(op, `${m} ${p}`).toBeDefined();
          expect(Object.keys(op.responses).length).toBeGreaterThan(0);
          expect(op.summary).toBeTruthy();
        }
      }
      expect(doc.paths["/api/v1/search"].post.requestBody.content["application/json"].schema.properties.text).toBeDefined();
      expect(doc.paths["/api/v1/search/image"].post.requestBody.content["multipart/form-data"]).toBeDefined();
      expect(doc.paths["/api/v1/items/{id}"].get.parameters[0]).toMatchObject({ name: "id", in: "path", required: true });
      expect(doc.paths["/api/v1/search"].post.responses["400"]).toBeDefined();
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    });
  });
});
