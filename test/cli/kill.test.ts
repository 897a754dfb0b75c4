/**
 * kill -9 at every step of the write path's file work, at progress points (src/core/testpoint.ts)
 * rather than after delays: index build (IVF, HNSW), index compact, rm, and POST /api/v1/items
 * through a running server. After each kill the collection opens, counts agree, no temporary file
 * is left, every committed item is found through every built index, and a re-run finishes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection } from "../../src/collection/index.js";
import { parseNpy } from "../../src/core/npy.js";
import { testModelDir } from "../fixtures/model.js";
import { freePort } from "../fixtures/net.js";
import { CLI, DATA, clipdb } from "./helpers.js";
import { killAt, unfindable } from "./points.js";

const F30K = join(DATA, "flickr30k-clip-l14-500");
const N = 500;
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-kill-"));
  writeFileSync(join(tmp, "img-ids.txt"), Array.from({ length: N }, (_, i) => `img${i}`).join("\n") + "\n");
  writeFileSync(join(tmp, "txt-ids.txt"), Array.from({ length: N }, (_, i) => `img${i}#0`).join("\n") + "\n");
  writeFileSync(join(tmp, "pair-ids.txt"), Array.from({ length: N }, (_, i) => `img${i}`).join("\n") + "\n");
});
const servers: ReturnType<typeof spawn>[] = [];
afterAll(() => {
  // A failed assertion must not leave a server running.
  for (const c of servers) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** A fresh collection of the 500 Flickr30k ViT-L/14 image vectors and their 500 captions. */
function collection(): string {
  const db = join(tmp, `c${n++}`);
  const a = clipdb(["add", "--vectors", join(F30K, "image.npy"), "--ids", join(tmp, "img-ids.txt"), "--modality", "image", "--db", db]);
  expect(a.code, a.stderr).toBe(0);
  const t = clipdb(["add", "--vectors", join(F30K, "text.npy"), "--ids", join(tmp, "txt-ids.txt"), "--pair-ids", join(tmp, "pair-ids.txt"), "--modality", "text", "--db", db]);
  expect(t.code, t.stderr).toBe(0);
  return db;
}

/** Opens the collection and checks what every kill must leave: consistent counts, no stray files. */
async function checkAfterKill(db: string, why: string): Promise<void> {
  const col = await Collection.open(db, { create: false });
  const s = (await col.stats());
  expect((await col.ids("image")).length, why).toBe(s.images);
  expect(new Set((await col.ids())).size, `${why}: no duplicate ids`).toBe(s.images + s.texts);
  for (const st of s.indexes) {
    expect(st.damaged, `${why}: ${st.type}/${st.modality}`).toBeUndefined();
    expect(st.size, `${why}: ${st.type}/${st.modality} size`).toBe(st.modality === "image" ? s.images : s.texts);
  }
  const left = existsSync(join(db, "indexes")) ? readdirSync(join(db, "indexes")) : [];
  expect(left.filter((f) => f.endsWith(".tmp")), `${why}: temp files removed at open`).toEqual([]);
  expect(left.length, `${why}: only the recorded files remain`).toBe(s.indexes.length);
  await col.close();
  expect(await unfindable(db), why).toEqual([]);
}

const POINTS = ["index:temp-written", "index:file-written", "index:recorded"];

describe("kill -9 during index builds", () => {
  for (const type of ["ivf", "hnsw"] as const) {
    it(`${type}: a first build and a rebuild, killed at each step, leave a working collection and the build re-runs`, async () => {
      for (const rebuild of [false, true]) {
        for (const point of POINTS) {
          const db = collection();
          if (rebuild) expect(clipdb(["index", "build", "--type", type, "--db", db]).code).toBe(0);
          const why = `${type} ${rebuild ? "rebuild" : "build"} killed at ${point}`;
          await killAt(["index", "build", "--type", type, "--db", db], point);
          await checkAfterKill(db, why);
          const status = clipdb(["index", "status", "--db", db, "--json"]).json.indexes;
          // Killed before its record was written, a first build leaves no index; after it, the image index it finished.
          if (!rebuild) expect(status.map((x: any) => x.modality), why).toEqual(point === "index:recorded" ? ["image"] : []);
          else expect(status.map((x: any) => x.modality).sort(), why).toEqual(["image", "text"]);
          const again = clipdb(["index", "build", "--type", type, "--db", db]);
          expect(again.code, `${why}: rebuild after the kill: ${again.stderr}`).toBe(0);
          await checkAfterKill(db, `${why}, then rebuilt`);
        }
      }
    }, 300_000);
  }
});

describe("kill -9 during index compaction and rm", () => {
  it("index compact killed at each step keeps every change, and a re-run folds it in", async () => {
    for (const point of POINTS) {
      const db = collection();
      expect(clipdb(["index", "build", "--type", "ivf", "--db", db]).code).toBe(0);
      expect(clipdb(["index", "build", "--type", "hnsw", "--db", db]).code).toBe(0);
      expect(clipdb(["rm", "img3", "img4", "--db", db]).code).toBe(0);
      const pending = clipdb(["index", "status", "--db", db, "--json"]).json.indexes.map((x: any) => x.pending);
      expect(pending).toEqual([2, 2, 2, 2]); // 2 images for the image indexes, their 2 captions for the text ones
      await killAt(["index", "compact", "--db", db], point);
      await checkAfterKill(db, `compact killed at ${point}`);
      const r = clipdb(["index", "compact", "--db", db, "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(clipdb(["index", "status", "--db", db, "--json"]).json.indexes.map((x: any) => x.pending)).toEqual([0, 0, 0, 0]);
      await checkAfterKill(db, `compact after a kill at ${point}`);
    }
  }, 300_000);

  it("rm killed right after its commit: the items and their captions are gone from every index", async () => {
    const db = collection();
    expect(clipdb(["index", "build", "--type", "ivf", "--db", db]).code).toBe(0);
    expect(clipdb(["index", "build", "--type", "hnsw", "--db", db]).code).toBe(0);
    await killAt(["rm", "img10", "img11", "--db", db], "rm:committed");
    await checkAfterKill(db, "rm killed");
    const col = await Collection.open(db, { create: false });
    expect((await col.stats())).toMatchObject({ images: N - 2, texts: N - 2, pairs: N - 2 });
    const img = parseNpy(readFileSync(join(F30K, "image.npy")), "image.npy");
    for (const index of ["exact", "ivf", "hnsw"] as const) {
      const r = await col.search({ vector: img.data.slice(10 * img.dim, 11 * img.dim) }, { k: 20, index, nprobe: 100_000, ef: 2000 });
      expect(r.results.map((h) => h.id), index).not.toContain("img10");
      expect(r.results.map((h) => h.id), index).not.toContain("img10#0");
    }
    await col.close();
    const again = clipdb(["rm", "img10", "--db", db, "--json"]);
    expect(again.json).toMatchObject({ removed: 0 });
  }, 120_000);
});


describe("kill -9 of a server in the middle of POST /api/v1/items", () => {
  it("keeps the posts it committed, indexed, and takes the lost one again after a restart", async () => {
    const model = testModelDir();
    const coco = join(DATA, "coco-val2017-sample", "images");
    const files = readdirSync(coco).sort();
    const db = join(tmp, "served");
    const seed = join(tmp, "seed-images");
    rmSync(seed, { recursive: true, force: true });
    mkdirSync(seed);
    for (const f of files.slice(0, 12)) writeFileSync(join(seed, f), readFileSync(join(coco, f)));
    expect(clipdb(["add", seed, "--db", db, "--model", model]).code).toBe(0);
    expect(clipdb(["index", "build", "--type", "ivf", "--db", db]).code).toBe(0);
    expect(clipdb(["index", "build", "--type", "hnsw", "--db", db]).code).toBe(0);

    const start = async (point?: string) => {
      const port = await freePort();
      const env = { ...process.env, CLIPDB_TEST_POINT: point ?? "" };
      const child = spawn(process.execPath, [CLI, "serve", "--db", db, "--model", model, "--port", String(port)], { stdio: ["ignore", "pipe", "pipe"], env });
      servers.push(child);
      let err = "";
      child.stdout.resume();
      child.stderr.setEncoding("utf8");
      const ready = new Promise<void>((resolve, reject) => {
        child.stderr.on("data", (d: string) => {
          err += d;
          if (err.includes("clipdb: serving")) resolve();
        });
        child.once("exit", () => reject(new Error(`server exited: ${err}`)));
      });
      await ready;
      return { child, url: `http://127.0.0.1:${port}`, stderr: () => err, exited: new Promise((r) => child.once("exit", r)) };
    };
    const post = (url: string, f: string) => {
      const form = new FormData();
      form.append("image", new Blob([new Uint8Array(readFileSync(join(coco, f)))], { type: "image/jpeg" }), f);
      form.append("id", f);
      form.append("text", `caption of ${f}`);
      return fetch(`${url}/api/v1/items`, { method: "POST", body: form });
    };
    const posted = files.slice(20, 24);
    const s1 = await start("add:batch:3");
    for (const f of posted.slice(0, 2)) expect((await post(s1.url, f)).status).toBe(201);
    const third = post(s1.url, posted[2]).then(
      (r) => r.status,
      () => "connection lost",
    );
    while (!s1.stderr().includes("clipdb test point add:batch #3")) await new Promise((r) => setTimeout(r, 10));
    s1.child.kill("SIGKILL");
    await s1.exited;
    expect(await third).toBe("connection lost");
    await checkAfterKill(db, "server killed after its third commit");
    const col = await Collection.open(db, { create: false });
    expect((await col.stats())).toMatchObject({ images: 15, texts: 3, pairs: 3 });
    await col.close();

    const s2 = await start();
    const again = await post(s2.url, posted[2]);
    expect(again.status, await again.clone().text()).toBe(200); // committed before the kill: skipped
    expect((await post(s2.url, posted[3])).status).toBe(201);
    for (const f of posted) {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(readFileSync(join(coco, f)))], { type: "image/jpeg" }), f);
      form.append("index", "ivf");
      form.append("nprobe", "1000");
      form.append("modality", "image");
      const r = await fetch(`${s2.url}/api/v1/search/image`, { method: "POST", body: form });
      expect(r.status, await r.clone().text()).toBe(200);
      const body = (await r.json()) as { results: { id: string; score: number }[]; index: string };
      expect(body.index).toBe("ivf");
      expect(body.results[0]).toMatchObject({ id: f });
      expect(body.results[0].score).toBeGreaterThan(0.999);
    }
    s2.child.kill("SIGTERM");
    await s2.exited;
    await checkAfterKill(db, "after the restart");
  }, 180_000);
});

describe("a damaged index file, through the CLI and the HTTP API", () => {
  it("blocks only that index: exact search, the other indexes, rm, stats, build and drop go on", async () => {
    const db = collection();
    expect(clipdb(["index", "build", "--type", "ivf", "--db", db]).code).toBe(0);
    expect(clipdb(["index", "build", "--type", "hnsw", "--db", db]).code).toBe(0);
    const ivfImage = readdirSync(join(db, "indexes")).find((f) => f.startsWith("ivf-image"))!;
    const file = join(db, "indexes", ivfImage);
    writeFileSync(file, readFileSync(file).subarray(0, 5000)); // truncated
    const st = clipdb(["stats", "--db", db]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/DAMAGED/);
    expect(st.stdout).toMatch(/ivf\/image: Index file .* truncated/);
    expect(clipdb(["search", "--item", "img1", "--index", "exact", "--modality", "image", "--db", db]).code).toBe(0);
    expect(clipdb(["search", "--item", "img1", "--index", "hnsw", "--modality", "image", "--db", db]).code).toBe(0);
    const refused = clipdb(["search", "--item", "img1", "--index", "ivf", "--modality", "image", "--db", db]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/INDEX_CORRUPT|unreadable/);
    expect(refused.stderr).toMatch(/clipdb index build --type ivf/);
    expect(clipdb(["search", "--item", "img1", "--index", "ivf", "--modality", "text", "--db", db]).code).toBe(0); // the text IVF is whole
    expect(clipdb(["rm", "img2", "--db", db]).code).toBe(0);

    const { buildServer } = await import("../../src/server/index.js");
    const col = await Collection.open(db, { create: false });
    const app = await buildServer(col);
    const v = Array.from((await col.vectorOf("img1"))!);
    const exact = await app.inject({ method: "POST", url: "/api/v1/search", payload: { vector: v, index: "exact", modality: "image" } });
    expect(exact.statusCode).toBe(200);
    const ivf = await app.inject({ method: "POST", url: "/api/v1/search", payload: { vector: v, index: "ivf", modality: "image" } });
    expect(ivf.statusCode).toBe(409);
    expect(ivf.json().error.code).toBe("INDEX_CORRUPT");
    const stats = (await app.inject({ method: "GET", url: "/api/v1/stats" })).json();
    expect(stats.indexes.find((x: any) => x.type === "ivf" && x.modality === "image").damaged).toMatch(/truncated/);
    await app.close();
    await col.close();

    const rebuilt = clipdb(["index", "build", "--type", "ivf", "--db", db]);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(clipdb(["stats", "--db", db]).stdout).not.toMatch(/DAMAGED/);
    await checkAfterKill(db, "after rebuilding over a damaged file");
    expect(clipdb(["index", "drop", "--type", "hnsw", "--db", db]).code).toBe(0);
  }, 120_000);
});
