/**
 * Keyword and hybrid search (issue 12) through the library and the HTTP API, on real COCO
 * captions embedded with the tiny generated test model (random weights: its vector ranking is
 * noise, which is what makes the keyword side visible), on SQLite and on Postgres; and paging by
 * offset and by cursor.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer } from "../../src/server/index.js";
import { type PgServer, startPgServer } from "../../scripts/lib/pg-server.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages } from "../server/helpers.js";

const imgs = cocoImages(12);
const captions = imgs.flatMap((img) => img.captions);
/** A word of exactly one caption (letters only, long): the "rare name" a user quotes. */
function rareWords(): { word: string; caption: string }[] {
  const df = new Map<string, Set<string>>();
  for (const c of captions) for (const w of new Set(c.toLowerCase().match(/[a-z]{8,}/g) ?? [])) df.set(w, (df.get(w) ?? new Set()).add(c));
  // 8+ letters: no English stopword ("through", "yourself"), which Postgres drops from queries.
  return [...df].filter(([w, cs]) => cs.size === 1 && !/self|selves/.test(w)).map(([word, cs]) => ({ word, caption: [...cs][0] }));
}

let tmp: string;
let server: PgServer | undefined;
const cols: Collection[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-hybrid-"));
  server = await startPgServer({ maxConnections: 4 });
});
afterAll(async () => {
  for (const c of cols) await c.close();
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function seeded(where: string): Promise<Collection> {
  const col = await Collection.open(where, { model: testModelDir(), offline: true });
  cols.push(col);
  const s = await col.addImages(imgs.map((img) => ({ path: img.file, id: img.name, captions: img.captions })));
  expect(s.failed).toBe(0);
  await col.addTexts([{ id: "note", text: "An unusual zeppelin over the harbour" }]);
  return col;
}

const stores = [
  { name: "sqlite", where: () => path.join(tmp, "db") },
  { name: "postgres", where: () => `${server!.url}?schema=hybrid_${process.pid}` },
];

describe.each(stores)("$name: keyword and hybrid search", (st) => {
  let col: Collection;
  beforeAll(async () => {
    col = await seeded(st.where());
  });

  it("keyword mode finds the one caption holding a rare word, with its true cosine", async () => {
    const rare = rareWords().slice(0, 5);
    expect(rare.length).toBe(5);
    for (const { word, caption } of rare) {
      const kw = await col.search({ text: word }, { mode: "keyword", k: 5 });
      expect(kw.mode).toBe("keyword");
      expect(kw.index).toBe("keyword");
      // Stemming may let in captions with another form of the word ("standing", "stands").
      const hit = kw.results.find((h) => h.text === caption)!;
      expect(hit).toBeDefined();
      expect(kw.results.every((h) => h.modality === "text")).toBe(true);
      const vec = await col.search({ text: word }, { k: 200, modality: "text" });
      const same = vec.results.find((h) => h.text === caption)!;
      expect(hit.score).toBeCloseTo(same.score, 5);
      expect(hit.rrf).toBeGreaterThan(0);
    }
    expect((await col.search({ text: "zeppelins" }, { mode: "keyword" })).results.map((h) => h.id)).toEqual(["note"]);
  });

  it("hybrid mode keeps the caption in the top 10 when the vector ranking alone misses it", async () => {
    let missedByVector = 0;
    for (const { word, caption } of rareWords()) {
      const q = word;
      const hy = await col.search({ text: q }, { mode: "hybrid", k: 10 });
      expect(hy.results.slice(0, 10).map((h) => h.text)).toContain(caption);
      const vec = await col.search({ text: q }, { k: 10 });
      if (!vec.results.some((h) => h.text === caption)) missedByVector++;
      // Images still come from the vector side: hybrid over "any" returns both modalities' hits.
      expect(hy.results.length).toBe(10);
    }
    expect(missedByVector).toBeGreaterThan(0); // the random-weight model misses most of them
  });

  it("pages by offset: pages laid end to end are the one long ranking, ranks continuing", async () => {
    for (const mode of ["vector", "hybrid"] as const) {
      const all = await col.search({ text: "a man riding" }, { mode, k: 15 });
      const p1 = await col.search({ text: "a man riding" }, { mode, k: 5 });
      const p2 = await col.search({ text: "a man riding" }, { mode, k: 5, offset: 5 });
      const p3 = await col.search({ text: "a man riding" }, { mode, k: 5, offset: 10 });
      expect([...p1.results, ...p2.results, ...p3.results].map((h) => [h.rank, h.id])).toEqual(all.results.map((h) => [h.rank, h.id]));
    }
  });

  it("refuses keyword and hybrid without words or with an image-only target, and a bad offset", async () => {
    await expect(col.search({ item: imgs[0].name }, { mode: "keyword" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "mode" } });
    await expect(col.search({ text: "dog" }, { mode: "hybrid", modality: "image" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "mode" } });
    await expect(col.search({ text: "dog" }, { mode: "fuzzy" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(col.search({ text: "dog" }, { offset: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", details: { name: "offset" } });
  });

  it("forgets a removed caption at once", async () => {
    await col.addTexts([{ id: "gone", text: "a quixotic aardvark" }]);
    expect((await col.search({ text: "aardvark" }, { mode: "keyword" })).results.map((h) => h.id)).toEqual(["gone"]);
    await col.remove(["gone"]);
    expect((await col.search({ text: "aardvark" }, { mode: "keyword" })).results).toEqual([]);
  });
});

describe("HTTP: mode, and Load more by cursor", () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildServer(await seeded(path.join(tmp, "http")), { webRoot: false });
  });
  afterAll(async () => {
    await app?.close();
  });
  const post = async (payload: object) => {
    const res = await app.inject({ method: "POST", url: "/api/v1/search", payload });
    return { status: res.statusCode, body: JSON.parse(res.body) };
  };

  it("takes mode, and every full page carries a cursor to the next one", async () => {
    const all = await post({ text: "a man riding", mode: "hybrid", k: 12 });
    expect(all.status).toBe(200);
    expect(all.body.mode).toBe("hybrid");
    const p1 = await post({ text: "a man riding", mode: "hybrid", k: 4 });
    expect(typeof p1.body.next).toBe("string");
    const p2 = await post({ cursor: p1.body.next });
    const p3 = await post({ cursor: p2.body.next, k: 4 });
    expect([...p1.body.results, ...p2.body.results, ...p3.body.results].map((h: { rank: number; id: string }) => [h.rank, h.id])).toEqual(
      all.body.results.map((h: { rank: number; id: string }) => [h.rank, h.id]),
    );
    // The same cursor again gives the same page (a retry is safe).
    expect((await post({ cursor: p1.body.next })).body.results.map((h: { id: string }) => h.id)).toEqual(p2.body.results.map((h: { id: string }) => h.id));
    // A short page is the last.
    expect((await post({ text: "zeppelin", mode: "keyword", k: 5 })).body.next).toBeNull();
  });

  it("pages an item query without the item itself, and an image upload without re-sending it", async () => {
    const p1 = await post({ item: imgs[0].name, k: 3, modality: "image" });
    const p2 = await post({ cursor: p1.body.next });
    const ids = [...p1.body.results, ...p2.body.results].map((h: { id: string }) => h.id);
    expect(ids).not.toContain(imgs[0].name);
    expect(new Set(ids).size).toBe(6);
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(readFileSync(imgs[1].file))], { type: "image/jpeg" }), "q.jpg");
    form.append("k", "3");
    const req = new Request("http://localhost/", { method: "POST", body: form });
    const up = await app.inject({ method: "POST", url: "/api/v1/search/image", payload: Buffer.from(await req.arrayBuffer()), headers: { "content-type": req.headers.get("content-type")! } });
    const first = JSON.parse(up.body);
    expect(first.results[0].id).toBe(imgs[1].name);
    const next = await post({ cursor: first.next });
    expect(next.body.results[0].rank).toBe(4);
  });

  it("refuses a cursor with a query beside it (400), and an unknown one (404 saying to search again)", async () => {
    const p1 = await post({ text: "dog", k: 2 });
    expect((await post({ cursor: p1.body.next, text: "cat" })).status).toBe(400);
    const gone = await post({ cursor: "AAAAAAAAAAAA.10" });
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toMatch(/search again/);
    expect((await post({ text: "dog", mode: "keyword", modality: "image" })).status).toBe(400);
  });

  it("documents mode and cursor in the OpenAPI document", async () => {
    const doc = JSON.parse((await app.inject({ method: "GET", url: "/openapi.json" })).body);
    const text = JSON.stringify(doc);
    expect(text).toContain('"hybrid"');
    expect(text).toContain('"cursor"');
  });
});
