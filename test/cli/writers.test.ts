/**
 * Concurrent writers across real processes, on collections with IVF and HNSW built: two `clipdb
 * add` processes at once, `clipdb add` beside POST /api/v1/items of a running `clipdb serve`, and a
 * server's freshness while another process adds, rebuilds and removes. Interleavings are forced
 * with progress points (CLIPDB_TEST_POINT / CLIPDB_TEST_RESUME, src/core/testpoint.ts): a process
 * prints its marker and waits until the test creates its resume file. Nothing is ordered by sleeps.
 *
 * The invariant (checkCollection in writers-fixtures.ts): the store holds exactly the ids written;
 * IVF with every list probed and HNSW with a large ef find the same live ids as exact search; and
 * each live item's own vector finds it first through both indexes, in a collection kept open
 * through the writes (replaying other processes' commits) and in a fresh process after them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { DATA } from "./helpers.js";
import { SAME, checkCollection, checkInFreshProcess, freePort, marker, start, type Expected, type Proc } from "./writers-fixtures.js";

const COCO = join(DATA, "coco-val2017-sample");
const CAPTIONS = join(COCO, "captions.json");
const FLICKR = join(DATA, "flickr8k-test");
const COCO_FILES = readdirSync(join(COCO, "images")).sort();
/** Images in the collection before the writers start (5 COCO captions each). */
const BASE = COCO_FILES.slice(0, 24);
/** Images writer A adds: 4 committed batches of 4 images (+ 20 captions) with --batch-size 4. */
const A_IMAGES = COCO_FILES.slice(24, 40);
/** Images added while a server runs (test 3). */
const FRESH = COCO_FILES.slice(40, 60);
/** Texts writer B adds: 5 committed batches of 8 with --batch-size 8. */
const B_TEXTS = 40;
/** The most lists an HTTP search may probe (server/params.ts); more than any nlist here. */
const HTTP_NPROBE = 65536;

let tmp: string;
let model: string;
let basePhotos: string;
let aPhotos: string;
let freshPhotos: string;
const procs: Proc[] = [];
const opened: Collection[] = [];

function copyImages(files: string[], to: string): string {
  mkdirSync(to, { recursive: true });
  for (const f of files) copyFileSync(join(COCO, "images", f), join(to, f));
  return to;
}

beforeAll(() => {
  model = testModelDir();
  tmp = mkdtempSync(join(tmpdir(), "clipdb-writers-"));
  basePhotos = copyImages(BASE, join(tmp, "base-photos"));
  aPhotos = copyImages(A_IMAGES, join(tmp, "a-photos"));
  freshPhotos = copyImages(FRESH, join(tmp, "fresh-photos"));
});

afterEach(async () => {
  // A failed test may leave a process waiting at a progress point, or a server running.
  for (const p of procs.splice(0)) p.kill("SIGKILL");
  for (const c of opened.splice(0)) await c.close().catch(() => undefined);
});

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Starts the CLI and remembers the process for cleanup. */
function run(args: string[], env: Record<string, string> = {}): Proc {
  const p = start(args, env);
  procs.push(p);
  return p;
}

/** Runs the CLI to completion and returns its parsed --json output. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<any> {
  const p = run([...args, "--json"], env);
  await p.done(0);
  return JSON.parse(p.stdout);
}

/** A collection of BASE (with captions) and IVF (4 lists) plus HNSW built, in a new folder. */
async function baseCollection(name: string, types: ("ivf" | "hnsw")[] = ["ivf", "hnsw"]): Promise<string> {
  const db = join(tmp, name);
  expect(await cli(["add", basePhotos, "--captions", CAPTIONS, "--db", db, "--model", model, "--batch-size", "8"])).toMatchObject({ added: BASE.length, failed: 0 });
  for (const type of types) {
    const built = await cli(["index", "build", "--type", type, ...(type === "ivf" ? ["--nlist", "4"] : []), "--db", db]);
    expect(built.built.map((b: any) => b.modality).sort()).toEqual(["image", "text"]);
  }
  return db;
}

/** The collection opened in this process before the writes, with both indexes loaded (so it must replay what others commit). */
async function openLive(db: string): Promise<Collection> {
  const col = await Collection.open(db, { create: false });
  opened.push(col);
  const q = (await col.vectorOf(BASE[0]))!;
  expect((await col.search({ vector: q }, { index: "ivf", nprobe: 100, k: 1, modality: "image" })).results[0].id).toBe(BASE[0]);
  expect((await col.search({ vector: q }, { index: "hnsw", ef: 100, k: 1, modality: "image" })).results[0].id).toBe(BASE[0]);
  return col;
}

async function closeLive(col: Collection): Promise<void> {
  opened.splice(opened.indexOf(col), 1);
  await col.close();
}

/** Environment that stops a process after its n-th committed batch until `resume` exists. */
function pauseAfterBatch(n: number, resume: string): Record<string, string> {
  return { CLIPDB_TEST_POINT: `add:batch:${n}`, CLIPDB_TEST_RESUME: resume };
}

/** Changes each loaded index holds beyond its file, as "type:modality" -> pending (shows which file a collection switched to). */
async function pending(col: Collection): Promise<Record<string, number>> {
  return Object.fromEntries((await col.indexStatus()).map((s) => [`${s.type}:${s.modality}`, s.pending]));
}

const captionsOf = (ids: string[]) => ids.flatMap((id) => [0, 1, 2, 3, 4].map((n) => `${id}#${n}`));
const noteIds = (n: number) => Array.from({ length: n }, (_, i) => `note/${i}`);

/** The ids after BASE, the first `aBatches` of writer A's batches and `bBatches` of writer B's. */
function expected(aBatches: number, bBatches: number, extra: Partial<Expected> = {}): Expected {
  const images = [...BASE, ...A_IMAGES.slice(0, aBatches * 4)];
  return {
    image: [...images, ...(extra.image ?? [])],
    text: [...captionsOf(images), ...noteIds(bBatches * 8), ...(extra.text ?? [])],
  };
}

/** Writer B's input: 40 distinct texts (Flickr8k captions, numbered), as JSONL with ids. */
function notesFile(): string {
  const file = join(tmp, "notes.jsonl");
  if (!existsSync(file)) {
    const caps = readFileSync(join(FLICKR, "captions.tsv"), "utf8").split("\n").filter(Boolean).slice(0, B_TEXTS);
    writeFileSync(file, caps.map((line, i) => JSON.stringify({ id: `note/${i}`, text: `${line.split("\t")[2]} (note ${i})`, source: "notes" })).join("\n") + "\n");
  }
  return file;
}

const writerA = (db: string, env: Record<string, string> = {}) =>
  run(["add", aPhotos, "--captions", CAPTIONS, "--db", db, "--model", model, "--batch-size", "4", "--json"], env);
const writerB = (db: string, env: Record<string, string> = {}) =>
  run(["add", "--texts", notesFile(), "--db", db, "--model", model, "--batch-size", "8", "--json"], env);

async function finished(p: Proc, added: number): Promise<void> {
  await p.done(0);
  expect(JSON.parse(p.stdout)).toEqual({ added, skipped: 0, failed: 0, errors: [] });
}

describe("two clipdb add processes on one collection with IVF and HNSW built", () => {
  it("A (images + captions) pauses after batch 2, B (texts) runs whole, A resumes", async () => {
    const db = await baseCollection("cli-a2");
    const live = await openLive(db);
    const resume = join(tmp, "cli-a2.resume");
    const a = writerA(db, pauseAfterBatch(2, resume));
    await a.waitFor(marker("add:batch", 2));
    expect(await checkCollection(live, expected(2, 0))).toEqual([]);
    await finished(writerB(db), B_TEXTS);
    expect(await checkCollection(live, expected(2, 5))).toEqual([]);
    writeFileSync(resume, "");
    await finished(a, A_IMAGES.length);
    expect(await checkCollection(live, expected(4, 5))).toEqual([]);
    // Every commit of both writers was replayed into the deltas exactly once.
    expect(await pending(live)).toEqual({ "ivf:image": 16, "ivf:text": 120, "hnsw:image": 16, "hnsw:text": 120 });
    await closeLive(live);
    expect(await checkInFreshProcess(db, expected(4, 5))).toEqual([]);
  });

  it("mirror: B pauses after batch 3 of 5, A runs whole, B resumes", async () => {
    const db = await baseCollection("cli-b3");
    const live = await openLive(db);
    const resume = join(tmp, "cli-b3.resume");
    const b = writerB(db, pauseAfterBatch(3, resume));
    await b.waitFor(marker("add:batch", 3));
    expect(await checkCollection(live, expected(0, 3))).toEqual([]);
    await finished(writerA(db), A_IMAGES.length);
    expect(await checkCollection(live, expected(4, 3))).toEqual([]);
    writeFileSync(resume, "");
    await finished(b, B_TEXTS);
    expect(await checkCollection(live, expected(4, 5))).toEqual([]);
    await closeLive(live);
    expect(await checkInFreshProcess(db, expected(4, 5))).toEqual([]);
  });

  it("both paused (A after batch 1, B after batch 2) while a third process compacts, then B finishes, IVF is rebuilt, then A finishes", async () => {
    const db = await baseCollection("cli-both");
    const live = await openLive(db);
    const resumeA = join(tmp, "cli-both-a.resume");
    const resumeB = join(tmp, "cli-both-b.resume");
    const a = writerA(db, pauseAfterBatch(1, resumeA));
    const b = writerB(db, pauseAfterBatch(2, resumeB));
    await Promise.all([a.waitFor(marker("add:batch", 1)), b.waitFor(marker("add:batch", 2))]);
    expect(await checkCollection(live, expected(1, 2))).toEqual([]);
    // Fold both writers' commits so far into new index files; the live collection must switch to them.
    const compacted = await cli(["index", "compact", "--db", db]);
    expect(compacted.compacted.sort()).toEqual(["hnsw:image", "hnsw:text", "ivf:image", "ivf:text"]);
    expect(await checkCollection(live, expected(1, 2))).toEqual([]);
    expect(await pending(live)).toEqual({ "ivf:image": 0, "ivf:text": 0, "hnsw:image": 0, "hnsw:text": 0 });
    writeFileSync(resumeB, "");
    await finished(b, B_TEXTS);
    await cli(["index", "build", "--type", "ivf", "--nlist", "4", "--db", db]);
    expect(await checkCollection(live, expected(1, 5))).toEqual([]);
    expect(await pending(live)).toEqual({ "ivf:image": 0, "ivf:text": 0, "hnsw:image": 0, "hnsw:text": 24 });
    writeFileSync(resumeA, "");
    await finished(a, A_IMAGES.length);
    expect(await checkCollection(live, expected(4, 5))).toEqual([]);
    expect(await pending(live)).toEqual({ "ivf:image": 12, "ivf:text": 60, "hnsw:image": 12, "hnsw:text": 84 });
    await closeLive(live);
    expect(await checkInFreshProcess(db, expected(4, 5))).toEqual([]);
  });

  it("free-running: A and B write at the same time, in whatever order the machine gives", async () => {
    const db = await baseCollection("cli-free");
    const live = await openLive(db);
    const a = writerA(db);
    const b = writerB(db);
    await Promise.all([finished(a, A_IMAGES.length), finished(b, B_TEXTS)]);
    expect(await checkCollection(live, expected(4, 5))).toEqual([]);
    await closeLive(live);
    expect(await checkInFreshProcess(db, expected(4, 5))).toEqual([]);
  });
});

// ---- HTTP ----

async function api(base: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(base + path, body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json };
}

async function postForm(base: string, path: string, fields: Record<string, string>, file?: { field: string; path: string }): Promise<{ status: number; json: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (file) form.append(file.field, new Blob([new Uint8Array(readFileSync(file.path))], { type: "image/jpeg" }), basename(file.path));
  const res = await fetch(base + path, { method: "POST", body: form });
  return { status: res.status, json: await res.json() };
}

/** `clipdb serve` on a free port, once it listens. */
async function serve(db: string, env: Record<string, string> = {}): Promise<{ proc: Proc; base: string }> {
  const port = await freePort();
  const proc = run(["serve", "--db", db, "--model", model, "--port", String(port), "--offline"], env);
  await proc.waitFor("clipdb: serving");
  return { proc, base: `http://127.0.0.1:${port}` };
}

async function stopServer(proc: Proc): Promise<void> {
  proc.child.kill("SIGTERM");
  await proc.done(0);
}

/**
 * The invariant of checkCollection, asked of a running server over HTTP (vectors come from `col`,
 * this process's view of the same store): id sets of exact, IVF and HNSW agree with `expected`,
 * stats agree, and every id's own vector finds it first through IVF and HNSW.
 */
async function checkOverHttp(base: string, col: Collection, want: Expected): Promise<string[]> {
  const problems: string[] = [];
  const stats = await api(base, "/api/v1/stats");
  if (stats.status !== 200) return [`GET /api/v1/stats answered ${stats.status}: ${JSON.stringify(stats.json)}`];
  const e0 = Array.from({ length: col.dim! }, (_, i) => (i === 0 ? 1 : 0));
  for (const m of ["image", "text"] as const) {
    const ids = [...want[m]];
    const count = m === "image" ? stats.json.images : stats.json.texts;
    if (count !== ids.length) problems.push(`${m}: the server counts ${count}, expected ${ids.length}`);
    const wantSet = new Set(ids);
    for (const index of ["exact", "ivf", "hnsw"] as const) {
      const r = await api(base, "/api/v1/search", { vector: e0, k: 1000, modality: m, index, nprobe: HTTP_NPROBE, ef: 2000 });
      if (r.status !== 200) {
        problems.push(`${m}/${index}: search answered ${r.status}: ${JSON.stringify(r.json)}`);
        continue;
      }
      const got: string[] = r.json.results.map((h: any) => h.id);
      const missing = ids.filter((id) => !got.includes(id));
      const extra = got.filter((id) => !wantSet.has(id));
      if (missing.length) problems.push(`${m}/${index}: ${missing.length} ids not found: ${missing.slice(0, 8).join(", ")}`);
      if (extra.length) problems.push(`${m}/${index}: unexpected ids: ${extra.slice(0, 8).join(", ")}`);
      if (new Set(got).size !== got.length) problems.push(`${m}/${index}: duplicate ids in the results`);
      if (index !== "exact") {
        const st = stats.json.indexes.find((s: any) => s.type === index && s.modality === m);
        if (!st || st.size !== ids.length || st.damaged) problems.push(`${m}/${index}: stats says ${JSON.stringify(st)}, expected size ${ids.length}`);
      }
    }
    for (const id of ids) {
      const v = (await col.vectorOf(id));
      if (!v) {
        problems.push(`${m}: '${id}' has no vector in the store`);
        continue;
      }
      for (const index of ["ivf", "hnsw"] as const) {
        const r = await api(base, "/api/v1/search", { vector: Array.from(v), k: 10, modality: m, index, nprobe: HTTP_NPROBE, ef: 2000 });
        const hits = r.json?.results ?? [];
        const ok = r.status === 200 && r.json.index === index && hits.length > 0 && (hits[0].id === id || (hits[0].score >= SAME && hits.some((h: any) => h.id === id && h.score >= SAME)));
        if (!ok) problems.push(`${m}/${index}: '${id}' not first for its own vector (${r.status}: ${hits.slice(0, 3).map((h: any) => `${h.id}@${h.score}`).join(", ") || JSON.stringify(r.json)})`);
      }
    }
  }
  return problems;
}

describe("clipdb add beside POST /api/v1/items of a running clipdb serve", () => {
  it("interleaves a paused CLI writer with uploads, and a paused server upload with the CLI writer", async () => {
    const db = await baseCollection("http-mix");
    const resumeCli = join(tmp, "http-mix-cli.resume");
    const resumeServer = join(tmp, "http-mix-server.resume");
    // The server stops after its 3rd committed upload until resumeServer exists.
    const { proc: server, base } = await serve(db, pauseAfterBatch(3, resumeServer));
    const col = await openLive(db); // for vectors (and a second, in-process view)
    const flickr = readdirSync(join(FLICKR, "images")).sort().slice(0, 3).map((f) => join(FLICKR, "images", f));
    const q = Array.from((await col.vectorOf(BASE[0]))!);
    for (const index of ["ivf", "hnsw"]) {
      const warm = await api(base, "/api/v1/search", { vector: q, k: 1, modality: "image", index, nprobe: HTTP_NPROBE, ef: 2000 });
      expect([warm.status, warm.json.results[0].id]).toEqual([200, BASE[0]]);
    }
    const upload = (i: number, text?: string) =>
      postForm(base, "/api/v1/items", { id: `upload/${i}`, ...(text ? { text } : {}) }, { field: "image", path: flickr[i] });
    const uploadText = (id: string, text: string) => postForm(base, "/api/v1/items", { id, text });

    // CLI writer A stops after its 2nd batch; the server takes two uploads meanwhile.
    const a = writerA(db, pauseAfterBatch(2, resumeCli));
    await a.waitFor(marker("add:batch", 2));
    expect(await upload(0, "an uploaded photo with its caption")).toMatchObject({ status: 201, json: { added: 1, ids: ["upload/0"] } });
    expect(await uploadText("upload/t0", "an uploaded note")).toMatchObject({ status: 201, json: { added: 1, ids: ["upload/t0"] } });
    const mid = expected(2, 0, { image: ["upload/0"], text: ["upload/0#0", "upload/t0"] });
    expect(await checkOverHttp(base, col, mid)).toEqual([]);

    // The 3rd upload commits, then the server stops before answering; A finishes meanwhile.
    const third = upload(1);
    await server.waitFor(marker("add:batch", 3));
    writeFileSync(resumeCli, "");
    await finished(a, A_IMAGES.length);
    writeFileSync(resumeServer, "");
    expect(await third).toMatchObject({ status: 201, json: { added: 1, ids: ["upload/1"] } });
    expect(await upload(2, "the last uploaded photo")).toMatchObject({ status: 201, json: { added: 1, ids: ["upload/2"] } });
    expect(await uploadText("upload/t1", "the last uploaded note")).toMatchObject({ status: 201 });

    const all = expected(4, 0, { image: ["upload/0", "upload/1", "upload/2"], text: ["upload/0#0", "upload/t0", "upload/2#0", "upload/t1"] });
    expect(await checkOverHttp(base, col, all)).toEqual([]);
    // The server replayed A's commits and its own into its deltas, each once.
    const stats = (await api(base, "/api/v1/stats")).json;
    expect(Object.fromEntries(stats.indexes.map((s: any) => [`${s.type}:${s.modality}`, s.pending]))).toEqual({ "ivf:image": 19, "ivf:text": 84, "hnsw:image": 19, "hnsw:text": 84 });
    expect(await checkCollection(col, all)).toEqual([]);
    await stopServer(server);
    await closeLive(col);
    expect(await checkInFreshProcess(db, all)).toEqual([]);
  });
});

describe("a running clipdb serve sees another process's add, IVF rebuild and rm at its next query", () => {
  it("finds every added image first, through the rebuilt index (and an upload made during the rebuild), and never the removed one", async () => {
    const db = await baseCollection("fresh", ["ivf"]);
    const { proc: server, base } = await serve(db);
    const search = (file: string, extra: Record<string, string> = {}) =>
      postForm(base, "/api/v1/search/image", { index: "ivf", nprobe: String(HTTP_NPROBE), modality: "image", k: "10", ...extra }, { field: "file", path: file });
    /** Each image's file finds it first (score > 0.999) through IVF, and never the id `never`. */
    const expectFirst = async (files: string[], dir: string, never?: string) => {
      for (const f of files) {
        const r = await search(join(dir, f));
        expect(r.status, JSON.stringify(r.json)).toBe(200);
        expect(r.json.index).toBe("ivf");
        if (never) expect(r.json.results.map((h: any) => h.id)).not.toContain(never);
        expect([r.json.results[0].id, r.json.results[0].score > 0.999], `${f}: ${JSON.stringify(r.json.results.slice(0, 3))}`).toEqual([f, true]);
      }
    };
    const ivfStatus = async () => {
      const s = await api(base, "/api/v1/stats");
      expect(s.status).toBe(200);
      expect(s.json.indexes.filter((x: any) => x.type === "ivf").map((x: any) => x.modality).sort()).toEqual(["image", "text"]);
      return { stats: s.json, image: s.json.indexes.find((x: any) => x.type === "ivf" && x.modality === "image") };
    };
    await expectFirst(BASE.slice(0, 2), basePhotos); // loads the IVF in the server

    // 1. Another process adds 20 images (with captions).
    expect(await cli(["add", freshPhotos, "--captions", CAPTIONS, "--db", db, "--model", model])).toMatchObject({ added: FRESH.length, failed: 0 });
    await expectFirst(FRESH, freshPhotos);
    let st = await ivfStatus();
    expect(st.stats).toMatchObject({ images: BASE.length + FRESH.length, texts: 5 * (BASE.length + FRESH.length) });
    expect(st.image).toMatchObject({ size: BASE.length + FRESH.length, pending: FRESH.length });

    // 2. It rebuilds the IVF. While its new image file is written but not yet recorded, the server
    //    answers from the old one and takes an upload, which the new file (its snapshot older) lacks.
    const resume = join(tmp, "fresh-rebuild.resume");
    const rebuild = run(["index", "build", "--type", "ivf", "--nlist", "4", "--db", db, "--json"], { CLIPDB_TEST_POINT: "index:file-written:1", CLIPDB_TEST_RESUME: resume });
    await rebuild.waitFor(marker("index:file-written", 1));
    await expectFirst([FRESH[0], FRESH[19]], freshPhotos);
    await expectFirst([BASE[3]], basePhotos);
    const uploaded = join(FLICKR, "images", readdirSync(join(FLICKR, "images")).sort()[0]);
    const up = await postForm(base, "/api/v1/items", { id: "upload/during-rebuild" }, { field: "image", path: uploaded });
    expect(up).toMatchObject({ status: 201, json: { ids: ["upload/during-rebuild"] } });
    const findUpload = async () => {
      const r = await search(uploaded);
      expect([r.status, r.json.results?.[0]?.id, r.json.results?.[0]?.score > 0.999], JSON.stringify(r.json)).toEqual([200, "upload/during-rebuild", true]);
    };
    await findUpload();
    writeFileSync(resume, "");
    await rebuild.done(0);
    expect(JSON.parse(rebuild.stdout).built.map((b: any) => [b.modality, b.size])).toEqual([
      ["image", BASE.length + FRESH.length],
      ["text", 5 * (BASE.length + FRESH.length)],
    ]);
    await expectFirst(FRESH, freshPhotos);
    await findUpload();
    await expectFirst(BASE.slice(0, 4), basePhotos);
    const images = BASE.length + FRESH.length + 1;
    st = await ivfStatus();
    expect(st.image).toMatchObject({ size: images, pending: 1 }); // the upload, replayed on top of the new file

    // 3. It removes one of the new images (and so its captions).
    const gone = FRESH[7];
    expect(await cli(["rm", gone, "--db", db])).toEqual({ removed: 1, requested: 1, missing: [] });
    const r = await search(join(freshPhotos, gone));
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.results.map((h: any) => h.id)).not.toContain(gone);
    expect(r.json.results[0].score).toBeLessThan(0.999);
    const any = await api(base, "/api/v1/search", { vector: Array.from({ length: st.stats.dim }, (_, i) => (i === 0 ? 1 : 0)), k: 1000, modality: "any", index: "ivf", nprobe: HTTP_NPROBE });
    expect(any.status).toBe(200);
    const ids: string[] = any.json.results.map((h: any) => h.id);
    expect(ids.filter((id) => id === gone || id.startsWith(`${gone}#`))).toEqual([]);
    expect(ids).toHaveLength(images - 1 + 5 * (BASE.length + FRESH.length - 1));
    await expectFirst(FRESH.filter((f) => f !== gone), freshPhotos, gone);
    await findUpload();
    st = await ivfStatus();
    expect(st.stats).toMatchObject({ images: images - 1, texts: 5 * (BASE.length + FRESH.length - 1) });
    expect(st.image).toMatchObject({ size: images - 1 });
    await stopServer(server);
  });
});
