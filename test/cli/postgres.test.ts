/**
 * The same clipdb on Postgres + pgvector (PGlite over the wire protocol, reached by `pg` with a
 * pool of 1): the CLI end to end with `--db postgres://…`, search pushed down to SQL (exact and
 * pgvector HNSW / IVFFlat), exact eval equal to SQLite's, two API servers over one database, and
 * errors that never show the password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PgServer, startPgServer } from "../../scripts/lib/pg-server.js";
import { testModelDir } from "../fixtures/model.js";
import { CLI, DATA } from "./helpers.js";
import { freePort } from "./writers-fixtures.js";
import { killAt } from "./points.js";

const COCO = join(DATA, "coco-val2017-sample");
const FILES = readdirSync(join(COCO, "images")).sort();
const F30K = join(DATA, "flickr30k-clip-l14-500");
let server: PgServer;
let tmp: string;
let model: string;
let n = 0;

/** A fresh collection (its own schema) in the PGlite database, with a password that must never show. */
const url = () => `${server.url.replace("postgres@", "postgres:s3cret-pw@")}?schema=c${n++}`;

function clipdb(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", env: { ...process.env, CLIPDB_PG_POOL: "1" }, timeout: 300_000 });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/s3cret-pw/);
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

beforeAll(async () => {
  server = await startPgServer({ maxConnections: 6 });
  tmp = mkdtempSync(join(tmpdir(), "clipdb-pg-cli-"));
  model = testModelDir();
  writeFileSync(join(tmp, "img-ids.txt"), Array.from({ length: 500 }, (_, i) => `img${i}`).join("\n") + "\n");
  writeFileSync(join(tmp, "txt-ids.txt"), Array.from({ length: 500 }, (_, i) => `img${i}#0`).join("\n") + "\n");
}, 60_000);
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe("the CLI on a Postgres collection", () => {
  it("adds, searches exactly and through pgvector HNSW and IVFFlat, removes and re-adds", () => {
    const db = url();
    const photos = join(tmp, "photos");
    mkdirSync(photos, { recursive: true });
    for (const f of FILES.slice(0, 12)) copyFileSync(join(COCO, "images", f), join(photos, f));
    const add = clipdb(["add", photos, "--captions", join(COCO, "captions.json"), "--db", db, "--model", model, "--json"]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.json).toMatchObject({ added: 12, failed: 0 });
    const stats = clipdb(["stats", "--db", db, "--json"]);
    expect(stats.json).toMatchObject({ images: 12, texts: 60, pairs: 60 });
    expect(stats.stdout).toMatch(/postgres|images/);

    const text = clipdb(["search", "--text", "a dog", "--k", "5", "--db", db, "--json"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.json.results).toHaveLength(5);
    const item = clipdb(["search", "--item", FILES[2], "--modality", "image", "--k", "3", "--db", db, "--json"]);
    expect(item.json.results.map((r: any) => r.id)).not.toContain(FILES[2]);
    expect(item.json.index).toBe("exact");

    expect(clipdb(["search", "--item", FILES[2], "--index", "hnsw", "--db", db]).code).toBe(1); // not built yet
    const hnsw = clipdb(["index", "build", "--type", "hnsw", "--db", db, "--json"]);
    expect(hnsw.code, hnsw.stderr).toBe(0);
    expect(hnsw.json.built.map((b: any) => `${b.modality}:${b.spec}`).sort()).toEqual(["image:HNSW16", "text:HNSW16"]);
    const ivf = clipdb(["index", "build", "--type", "ivf", "--nlist", "2", "--db", db, "--json"]);
    expect(ivf.code, ivf.stderr).toBe(0);
    const status = clipdb(["index", "status", "--db", db, "--json"]).json.indexes;
    expect(status.map((s: any) => `${s.type}/${s.modality}/${s.size}`).sort()).toEqual(["hnsw/image/12", "hnsw/text/60", "ivf/image/12", "ivf/text/60"]);
    for (const index of ["exact", "hnsw", "ivf"]) {
      const r = clipdb(["search", "--image", join(photos, FILES[4]), "--modality", "image", "--index", index, "--ef", "100", "--nprobe", "2", "--k", "3", "--db", db, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.index).toBe(index);
      expect(r.json.results[0].id, index).toBe(FILES[4]);
      expect(r.json.results[0].score, index).toBeGreaterThan(0.999);
    }

    const rm = clipdb(["rm", FILES[4], "--db", db, "--json"]);
    expect(rm.json).toMatchObject({ removed: 1 });
    expect(clipdb(["stats", "--db", db, "--json"]).json).toMatchObject({ images: 11, texts: 55 });
    const gone = clipdb(["search", "--image", join(photos, FILES[4]), "--modality", "image", "--index", "hnsw", "--k", "12", "--db", db, "--json"]);
    expect(gone.json.results.map((r: any) => r.id)).not.toContain(FILES[4]);
    const again = clipdb(["add", photos, "--captions", join(COCO, "captions.json"), "--db", db, "--json"]);
    expect(again.json).toMatchObject({ added: 1, skipped: 11 });
    expect(clipdb(["index", "drop", "--type", "ivf", "--db", db]).code).toBe(0);
    expect(clipdb(["index", "status", "--db", db, "--json"]).json.indexes.map((s: any) => s.type)).toEqual(["hnsw", "hnsw"]);
  }, 300_000);

  it("exact eval over the Flickr30k ViT-L/14 vectors gives the same recall as SQLite", () => {
    const pg = url();
    const lite = join(tmp, "lite");
    for (const db of [pg, lite]) {
      expect(clipdb(["add", "--vectors", join(F30K, "image.npy"), "--ids", join(tmp, "img-ids.txt"), "--modality", "image", "--db", db]).code).toBe(0);
      const t = clipdb(["add", "--vectors", join(F30K, "text.npy"), "--ids", join(tmp, "txt-ids.txt"), "--pair-ids", join(tmp, "img-ids.txt"), "--modality", "text", "--db", db]);
      expect(t.code, t.stderr).toBe(0);
    }
    const evalOf = (db: string) => {
      const r = clipdb(["eval", "--index", "exact", "--db", db, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      const keys = ["R@1", "R@5", "R@10", "hit@1", "hit@10", "hit@100", "hit@1000"];
      return JSON.stringify(["t2i", "i2t"].map((d) => keys.map((k) => r.json[d].exact[k])));
    };
    const same = evalOf(pg);
    expect(same).toBe(evalOf(lite));
    expect(JSON.parse(same)[0].slice(0, 3)).toEqual([0.792, 0.964, 0.98]); // the README's Flickr30k t2i figures
    // Pushed-down exact search agrees with SQLite's exact kernel on the same vectors.
    const a = clipdb(["search", "--item", "img7", "--modality", "text", "--k", "10", "--db", pg, "--json"]).json.results;
    const b = clipdb(["search", "--item", "img7", "--modality", "text", "--k", "10", "--db", lite, "--json"]).json.results;
    expect(a.map((r: any) => r.id)).toEqual(b.map((r: any) => r.id));
    for (let i = 0; i < a.length; i++) expect(a[i].score).toBeCloseTo(b[i].score, 5);
  }, 300_000);

  it("an unreachable server is one STORE_UNAVAILABLE line naming host and port, never the password", async () => {
    const port = await freePort();
    const r = clipdb(["stats", "--db", `postgres://postgres:s3cret-pw@127.0.0.1:${port}/postgres`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}`));
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});

describe("pgvector indexes", () => {
  it("with HNSW and IVFFlat both built, each kind's query is planned on its own index", async () => {
    process.env.CLIPDB_PG_POOL = "1";
    const db = url();
    const schema = /schema=(\w+)/.exec(db)![1];
    const { Collection } = await import("../../src/collection/index.js");
    const { syntheticClusters } = await import("../fixtures/synthetic.js");
    const col = await Collection.open(db);
    const { xs } = syntheticClusters({ n: 3000, dim: 32, clusters: 20, seed: 1 });
    await col.addVectors({ vectors: xs, dim: 32, ids: Array.from({ length: 3000 }, (_, i) => `v${i}`), modality: "image" });
    await col.buildIndex({ type: "hnsw" });
    await col.buildIndex({ type: "ivf" });
    expect((await col.indexStatus()).map((s) => s.spec).sort()).toEqual(["HNSW16", "IVF3,Flat"]); // IVFFlat lists: rows / 1000
    await col.close();
    const pg = (await import("pg")).default;
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    try {
      await c.query("SET enable_seqscan = off"); // 3,000 rows would otherwise be scanned whatever the index
      const v = `[${Array.from(xs.subarray(0, 32)).join(",")}]`;
      // The conditions src/store/pg-search.ts adds for each kind.
      for (const [tag, kind] of [['"offset" <> -1', "hnsw"], ['"offset" <> -2', "ivf"]]) {
        const r = await c.query(`EXPLAIN SELECT "offset" FROM ${schema}.items WHERE modality = 'image' AND ${tag} ORDER BY embedding <#> '${v}' LIMIT 10`);
        const plan = r.rows.map((x: Record<string, string>) => x["QUERY PLAN"]).join("\n");
        expect(plan, kind).toContain(`items_${kind}_image`);
      }
    } finally {
      await c.end();
    }
  }, 120_000);
});

describe("clipdb index tune on Postgres", () => {
  it("tunes ivfflat.probes and hnsw.ef_search against exact pushdown, and searches use the values found", async () => {
    // 20,000 rows, so that Postgres plans the ANN indexes rather than a sequential (exact) scan.
    process.env.CLIPDB_PG_POOL = "1";
    const db = url();
    const { Collection } = await import("../../src/collection/index.js");
    const { syntheticClusters } = await import("../fixtures/synthetic.js");
    const n = 20_000;
    const { xs } = syntheticClusters({ n, dim: 32, clusters: 50, seed: 2 });
    let col = await Collection.open(db);
    await col.addVectors({ vectors: xs, dim: 32, ids: Array.from({ length: n }, (_, i) => `v${i}`), modality: "image" });
    await col.buildIndex({ type: "ivf", nlist: 64 });
    await col.buildIndex({ type: "hnsw" });
    await col.close();

    const tune = clipdb(["index", "tune", "--target-recall", "0.95", "--sample", "100", "--db", db, "--json"]);
    expect(tune.code, tune.stderr).toBe(0);
    const tuned = tune.json.tuned;
    expect(tuned.map((x: any) => `${x.kind}/${x.modality}/${x.setting}`)).toEqual(["pgvector-hnsw/image/hnsw.ef_search", "pgvector-ivfflat/image/ivfflat.probes"]);
    for (const x of tuned) {
      expect(x.reached, x.kind).toBe(true);
      const last = x.curve[x.curve.length - 1];
      expect(last.value).toBe(x.value);
      expect(last.recall).toBeGreaterThanOrEqual(0.95);
      for (const p of x.curve.slice(0, -1)) expect(p.recall).toBeLessThan(0.95); // the smallest value that reaches it
    }
    const probes = tuned.find((x: any) => x.param === "nprobe").value;
    expect(probes).toBeGreaterThan(1); // one of 64 lists does not reach 0.95
    expect(tuned.find((x: any) => x.param === "nprobe").curve[0].recall).toBeLessThan(0.95);

    // The value is stored: a search that names no nprobe probes as many lists as the tuned value.
    col = await Collection.open(db, { create: false });
    try {
      let differs = 0;
      for (let i = 0; i < 30; i++) {
        const q = { vector: xs.slice(i * 32 * 97, i * 32 * 97 + 32) };
        const ids = async (nprobe?: number) => (await col.search(q, { index: "ivf", k: 10, nprobe })).results.map((r) => r.id);
        const byDefault = await ids();
        expect(byDefault).toEqual(await ids(probes));
        if (JSON.stringify(byDefault) !== JSON.stringify(await ids(1))) differs++;
      }
      expect(differs).toBeGreaterThan(0);
    } finally {
      await col.close();
    }
  }, 300_000);
});

describe("kill -9 of clipdb add against Postgres", () => {
  it("keeps every committed batch, loses the one in flight, and a re-run finishes with no duplicates", async () => {
    const db = url();
    const photos = join(tmp, "kill");
    mkdirSync(photos, { recursive: true });
    for (const f of FILES.slice(0, 40)) copyFileSync(join(COCO, "images", f), join(photos, f));
    const args = ["add", photos, "--captions", join(COCO, "captions.json"), "--db", db, "--model", model, "--batch-size", "4", "--json"];
    const env = { CLIPDB_PG_POOL: "1" };
    let committed = 0;
    for (const [point, batches] of [["add:batch:2", 2], ["add:embedded:3", 2], ["add:batch:1", 1]] as const) {
      await killAt(args, point, env);
      committed += batches * 4;
      const st = clipdb(["stats", "--db", db, "--json"]).json;
      expect(st.images, point).toBe(committed);
      expect(st.texts, point).toBe(committed * 5);
      expect(st.pairs, point).toBe(committed * 5);
    }
    const done = clipdb(args);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json).toMatchObject({ added: 40 - committed, skipped: committed });
    expect(clipdb(["stats", "--db", db, "--json"]).json).toMatchObject({ images: 40, texts: 200, pairs: 200 });
  }, 300_000);
});

describe("two API servers over one Postgres collection", () => {
  it("a write through one is found through the other at its next query", async () => {
    const db = url();
    const photos = join(tmp, "two");
    mkdirSync(photos, { recursive: true });
    copyFileSync(join(COCO, "images", FILES[0]), join(photos, FILES[0]));
    expect(clipdb(["add", photos, "--db", db, "--model", model]).code).toBe(0);
    expect(clipdb(["index", "build", "--type", "hnsw", "--db", db]).code).toBe(0);
    const servers = await Promise.all([0, 1].map(async () => {
      const port = await freePort();
      const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--model", model, "--port", String(port)], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, CLIPDB_PG_POOL: "1" } });
      let err = "";
      await new Promise<void>((resolve, reject) => {
        child.stderr.on("data", (d) => {
          err += d;
          if (err.includes("clipdb: serving")) resolve();
        });
        child.once("exit", () => reject(new Error(err)));
      });
      expect(err).not.toMatch(/s3cret-pw/);
      return { child, base: `http://127.0.0.1:${port}` };
    }));
    try {
      const bytes = readFileSync(join(COCO, "images", FILES[9]));
      const form = new FormData();
      form.append("image", new Blob([new Uint8Array(bytes)], { type: "image/jpeg" }), FILES[9]);
      form.append("id", "posted");
      const post = await fetch(`${servers[0].base}/api/v1/items`, { method: "POST", body: form });
      expect(post.status).toBe(201);
      const q = new FormData();
      q.append("file", new Blob([new Uint8Array(bytes)], { type: "image/jpeg" }), FILES[9]);
      q.append("index", "hnsw");
      q.append("modality", "image");
      const res = await fetch(`${servers[1].base}/api/v1/search/image`, { method: "POST", body: q });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as { results: { id: string; score: number }[] };
      expect(body.results[0].id).toBe("posted");
      expect(body.results[0].score).toBeGreaterThan(0.999);
      // The upload lives in the database: the other server serves its bytes and thumbnail.
      const img = await fetch(`${servers[1].base}/api/v1/items/posted/image`);
      expect(img.status).toBe(200);
      expect(Buffer.from(await img.arrayBuffer()).equals(bytes)).toBe(true);
      expect((await fetch(`${servers[1].base}/api/v1/items/posted/thumb`)).status).toBe(200);
      const stats = await (await fetch(`${servers[1].base}/api/v1/stats`)).text();
      expect(stats).not.toMatch(/s3cret-pw/);
    } finally {
      for (const s of servers) s.child.kill("SIGTERM");
    }
  }, 300_000);
});
