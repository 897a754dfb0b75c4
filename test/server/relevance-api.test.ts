/**
 * Relevance and query arithmetic over HTTP (in process, app.inject) and through the CLI: a real
 * collection of COCO images embedded with the generated test model.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { testModelDir } from "../fixtures/model.js";
import { clipdb } from "../cli/helpers.js";
import { cocoImages, dot, multipart } from "./helpers.js";

let tmp: string;
let db: string;
let col: Collection;
let app: FastifyInstance;
const imgs = cocoImages(12);
const ids = imgs.map((i) => i.name);

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-relapi-"));
  db = path.join(tmp, "db");
  col = await Collection.open(db, { model: testModelDir(), offline: true });
  const s = await col.addImages(imgs.map((i) => ({ path: i.file, id: i.name, captions: i.captions })));
  expect(s.failed).toBe(0);
  app = await buildServer(col, { webRoot: false });
}, 120_000);
afterAll(async () => {
  await app?.close();
  await col?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const search = (body: object) => app.inject({ method: "POST", url: "/api/v1/search", payload: body });
const unit = (v: Float32Array) => {
  const n = Math.sqrt(dot(v, v));
  return v.map((x) => x / n);
};

describe("HTTP", () => {
  it("sends relevance on every hit, and minRelevance drops weaker ones", async () => {
    const all = (await search({ text: "a dog", k: 20 })).json();
    expect(all.results).toHaveLength(20);
    for (const h of all.results) expect(h.relevance).toBeGreaterThanOrEqual(0), expect(h.relevance).toBeLessThanOrEqual(1);
    const cut = (await search({ text: "a dog", k: 20, minRelevance: 0.5 })).json();
    expect(cut.results.map((h: { id: string }) => h.id)).toEqual(all.results.filter((h: { relevance: number }) => h.relevance >= 0.5).map((h: { id: string }) => h.id));
    const auto = await search({ text: "a dog", k: 20, minRelevance: "auto" });
    expect(auto.statusCode).toBe(200);
    for (const bad of [2, "always", -1]) expect((await search({ text: "a dog", minRelevance: bad })).statusCode).toBe(400);
  });

  it("combines plus and minus terms by the documented formula, and refuses a − a", async () => {
    const [a, b] = [(await col.vectorOf(ids[0]))!, (await col.vectorOf(ids[1]))!];
    const res = (await search({ item: ids[0], plus: [{ item: ids[1], weight: 2 }], minus: [{ text: "grass", weight: 0.5 }], k: 30 })).json();
    const grass = (await search({ text: "grass", k: 1 })).json();
    expect(grass.results).toHaveLength(1);
    const e = await col.embedder();
    const g = await e.embedTexts(["grass"]);
    const q = unit(a.map((x, i) => x + 2 * b[i] - 0.5 * g[i]));
    for (const h of res.results) expect(h.score).toBeCloseTo(dot(q, (await col.vectorOf(h.id))!), 4);
    const cancel = await search({ item: ids[0], minus: [{ item: ids[0] }] });
    expect(cancel.statusCode).toBe(400);
    expect(cancel.json().error.message).toMatch(/cancel/);
    expect((await search({ text: "x", plus: [{ text: "y", color: "red" }] })).statusCode).toBe(400);
    expect((await search({ plus: [{ text: "a dog" }] })).statusCode).toBe(200);
    expect((await search({ minus: [{ text: "a dog" }] })).statusCode).toBe(400);
  });

  it("takes an uploaded image as a plus term of a text query", async () => {
    const data = readFileSync(imgs[2].file);
    const { payload, headers } = await multipart({ text: "a dog", imageAs: "plus", imageWeight: "1.5", k: "12", modality: "image" }, { field: "image", name: "q.jpg", type: "image/jpeg", data });
    const res = await app.inject({ method: "POST", url: "/api/v1/search/image", payload, headers });
    expect(res.statusCode).toBe(200);
    const e = await col.embedder();
    const t = await e.embedTexts(["a dog"]);
    const im = await e.embedImages([data]);
    const q = unit(t.map((x, i) => x + 1.5 * im[i]));
    for (const h of res.json().results) expect(h.score).toBeCloseTo(dot(q, (await col.vectorOf(h.id))!), 4);
    const bad = await multipart({ text: "a dog", imageAs: "sideways" }, { field: "image", name: "q.jpg", type: "image/jpeg", data });
    expect((await app.inject({ method: "POST", url: "/api/v1/search/image", ...bad })).statusCode).toBe(400);
  });

  it("documents relevance, minRelevance, plus and minus in /openapi.json", async () => {
    const doc = (await app.inject({ url: "/openapi.json" })).json();
    const body = doc.paths["/api/v1/search"].post.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(expect.arrayContaining(["plus", "minus", "minRelevance"]));
    expect(doc.components.schemas.SearchResponse.properties.results.items.$ref).toBe("#/components/schemas/Hit");
    expect(doc.components.schemas.Hit.required).toContain("relevance");
    const upload = doc.paths["/api/v1/search/image"].post.requestBody.content["multipart/form-data"].schema;
    expect(Object.keys(upload.properties)).toEqual(expect.arrayContaining(["imageAs", "imageWeight", "plus", "minus", "minRelevance"]));
  });
});

describe("CLI", () => {
  it("prints relevance in --json, takes --min-relevance and --plus/--minus with :weight", async () => {
    await col.close();
    const base = ["search", "--db", db, "--model", testModelDir(), "--json", "--modality", "image", "--k", "12"];
    const plain = clipdb([...base, "--text", "a dog"]);
    expect(plain.code, plain.stderr).toBe(0);
    for (const h of plain.json.results) expect(typeof h.relevance).toBe("number");
    const cut = clipdb([...base, "--text", "a dog", "--min-relevance", "0.5"]);
    expect(cut.json.results.length).toBe(plain.json.results.filter((h: { relevance: number }) => h.relevance >= 0.5).length);
    const mixed = clipdb([...base, "--item", ids[0], "--plus-item", `${ids[1]}:2`, "--minus-text", "grass:0.5", "--plus-image", imgs[3].file]);
    expect(mixed.code, mixed.stderr).toBe(0);
    col = await Collection.open(db, { model: testModelDir(), offline: true });
    const e = await col.embedder();
    const [a, b, c] = [(await col.vectorOf(ids[0]))!, (await col.vectorOf(ids[1]))!, (await e.embedImages([imgs[3].file]))];
    const g = await e.embedTexts(["grass"]);
    const q = unit(a.map((x, i) => x + 2 * b[i] + c[i] - 0.5 * g[i]));
    for (const h of mixed.json.results) expect(h.score).toBeCloseTo(dot(q, (await col.vectorOf(h.id))!), 4);
    const cancel = clipdb([...base, "--item", ids[0], "--minus-item", ids[0]]);
    expect(cancel.code).not.toBe(0);
    expect(cancel.stderr).toMatch(/cancel/);
    expect(clipdb([...base, "--text", "a dog", "--min-relevance", "lots"]).code).not.toBe(0);
    const cal = clipdb(["calibrate", "--db", db, "--json"]);
    expect(cal.code, cal.stderr).toBe(0);
    expect(cal.json.counts).toMatchObject({ images: 12, pairs: 60 });
    expect(cal.json.directions.t2i.pairs.method).toBe("pairs");
    expect(cal.json.directions.i2i.free.method).toBe("null-fdr");
    const shown = clipdb(["calibrate", "--db", db]);
    expect(shown.stdout).toMatch(/text→image\s+pairs\s+(query|target)\s+\d+/);
  }, 120_000);
});
