/**
 * The wire details that clients depend on: one upload field name on every route (with its alias),
 * validation errors that name the field, and /health reporting a model that cannot load.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages, multipart } from "./helpers.js";

let tmp: string;
let col: Collection;
let app: FastifyInstance;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-wire-"));
  col = await Collection.open(path.join(tmp, "db"), { model: await testModelDir(), offline: true });
  const imgs = cocoImages(3);
  expect((await col.addImages(imgs.map((i) => ({ path: i.file, id: i.name })))).failed).toBe(0);
  app = await buildServer(col, { webRoot: false });
});

afterAll(async () => {
  await app?.close();
  await col?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const jpeg = (i: number): Buffer => readFileSync(cocoImages(i + 1)[i].file);

describe("one upload field on every route", () => {
  for (const field of ["image", "file"]) {
    it(`POST /search/image and POST /items take the image in '${field}'`, async () => {
      const s = await multipart({ k: "2" }, { field, name: "q.jpg", type: "image/jpeg", data: jpeg(0) });
      const search = await app.inject({ method: "POST", url: "/api/v1/search/image", payload: s.payload, headers: s.headers });
      expect(search.statusCode).toBe(200);
      expect(search.json().results[0].id).toBe(cocoImages(1)[0].name);
      const a = await multipart({ id: `new-${field}` }, { field, name: "n.jpg", type: "image/jpeg", data: jpeg(0) });
      const add = await app.inject({ method: "POST", url: "/api/v1/items", payload: a.payload, headers: a.headers });
      expect(add.statusCode).toBe(201);
      expect(add.json().ids).toEqual([`new-${field}`]);
    });
  }

  it("another file field is refused by name, pointing at 'image'", async () => {
    const s = await multipart({}, { field: "photo", name: "q.jpg", type: "image/jpeg", data: jpeg(0) });
    const res = await app.inject({ method: "POST", url: "/api/v1/search/image", payload: s.payload, headers: s.headers });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/photo.*unexpected file field.*'image'/s);
  });

  it("the OpenAPI document names 'image' on both routes", async () => {
    const doc = (await app.inject({ url: "/openapi.json" })).json();
    const form = (p: string) => doc.paths[p].post.requestBody.content["multipart/form-data"].schema.properties;
    expect(Object.keys(form("/api/v1/search/image"))).toContain("image");
    expect(Object.keys(form("/api/v1/items"))).toContain("image");
  });
});

describe("validation errors name the field", () => {
  it("an unknown body field", async () => {
    const res = await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a dog", kk: 3 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain("unknown field 'kk' in the body");
  });

  it("a value out of range", async () => {
    const res = await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a dog", k: 0 } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toMatch(/'k' must be >= 1/);
  });
});

describe("exactly one query, checked once (by the query layer) and named", () => {
  const search = (payload: object) => app.inject({ method: "POST", url: "/api/v1/search", payload });

  it("several inputs are refused, naming them", async () => {
    const res = await search({ text: "a dog", item: cocoImages(1)[0].name });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe("INVALID_ARGUMENT");
    expect(res.json().error.message).toContain("'query': several queries given (text, item)");
  });

  it("no input is refused", async () => {
    const res = await search({ k: 3 });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain("no query given");
  });

  it("a term with two inputs is refused by the term's name", async () => {
    const res = await search({ text: "a dog", plus: [{ text: "grass", item: cocoImages(1)[0].name }] });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toContain("'plus[0]': several queries given (text, item)");
  });
});

describe("/health", () => {
  it("is ok with a model that loads", async () => {
    await col.search({ text: "a dog" });
    const h = (await app.inject({ url: "/api/v1/health" })).json();
    expect(h).toMatchObject({ status: "ok", modelState: "ready" });
  });

  it("is degraded, with a reason and no paths, when the model cannot be loaded", async () => {
    // A collection whose model folder lost its ONNX files after items were stored.
    const dir = path.join(tmp, "broken");
    const model = path.join(tmp, "model-copy");
    cpSync(await testModelDir(), model, { recursive: true });
    const first = await Collection.open(dir, { model, offline: true });
    await first.addTexts([{ text: "a dog on the grass" }]);
    await first.close();
    rmSync(path.join(model, "onnx"), { recursive: true });
    const broken = await Collection.open(dir, { model, offline: true });
    const server = await buildServer(broken, { webRoot: false });
    try {
      expect((await server.inject({ url: "/api/v1/health" })).json()).toMatchObject({ status: "ok", modelState: "idle" });
      const search = await server.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a dog" } });
      expect(search.statusCode).toBeGreaterThanOrEqual(400);
      const h = (await server.inject({ url: "/api/v1/health" })).json();
      expect(h.status).toBe("degraded");
      expect(h.modelState).toBe("failed");
      expect(h.reason).toMatch(/model/i);
      expect(JSON.stringify(h)).not.toContain(tmp);
    } finally {
      await server.close();
      await broken.close();
    }
  });
});
