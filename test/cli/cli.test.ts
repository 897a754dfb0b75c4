import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testModelDir } from "../fixtures/model.js";
import { STORES, location, stopStores } from "../fixtures/stores.js";
import { clipdb, DATA } from "./helpers.js";

const COCO = join(DATA, "coco-val2017-sample");
const images = readdirSync(join(COCO, "images")).sort().slice(0, 10);
let tmp: string;
let db: string;
let photos: string;
let model: string;

beforeAll(() => {
  model = testModelDir();
  tmp = mkdtempSync(join(tmpdir(), "clipdb-cli-"));
});
afterAll(async () => {
  await stopStores();
  rmSync(tmp, { recursive: true, force: true });
});

describe.each(STORES)("clipdb CLI end to end (built binary, generated test model, %s)", (store) => {
  beforeAll(async () => {
    db = await location(store, tmp, "db");
    photos = join(tmp, `photos-${store}`);
    mkdirSync(photos);
    for (const f of images) copyFileSync(join(COCO, "images", f), join(photos, f));
  }, 60_000);

  it("adds images with COCO captions, as pairs, and reports a JSON summary", () => {
    const r = clipdb(["add", photos, "--captions", join(COCO, "captions.json"), "--db", db, "--model", model, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ added: 10, skipped: 0, failed: 0, errors: [] });
    const s = clipdb(["stats", "--db", db, "--json"]).json;
    expect(s).toMatchObject({ images: 10, texts: 50, pairs: 50, dim: expect.any(Number), model: expect.stringContaining("test-model") });
    expect(s.bytes).toBeGreaterThan(0);
    expect(Array.isArray(s.indexes)).toBe(true);
  });

  it("is incremental: a second add embeds nothing and skips by content hash", () => {
    const r = clipdb(["add", photos, "--captions", join(COCO, "captions.json"), "--db", db, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ added: 0, skipped: 10, failed: 0 });
  });

  it("rm of an image removes its captions, and re-running the same add restores both (exit 0)", () => {
    const id = images[3];
    const before = clipdb(["stats", "--db", db, "--json"]).json;
    const rm = clipdb(["rm", id, "--db", db, "--json"]);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.json).toMatchObject({ removed: 1, requested: 1 });
    expect(clipdb(["stats", "--db", db, "--json"]).json).toMatchObject({ images: before.images - 1, texts: before.texts - 5, pairs: before.pairs - 5 });
    const again = clipdb(["add", photos, "--captions", join(COCO, "captions.json"), "--db", db, "--json"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ added: 1, skipped: 9, failed: 0 });
    expect(clipdb(["stats", "--db", db, "--json"]).json).toMatchObject({ images: before.images, texts: before.texts, pairs: before.pairs });
  });

  it("searches by text and prints true cosines in ranked order", () => {
    const r = clipdb(["search", "--text", "a dog on a beach", "--k", "5", "--db", db, "--json"]);
    expect(r.code).toBe(0);
    const res = r.json.results;
    expect(res).toHaveLength(5);
    expect(res.map((x: any) => x.rank)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < res.length; i++) expect(res[i - 1].score).toBeGreaterThanOrEqual(res[i].score);
    for (const x of res) expect(Object.keys(x).sort()).toEqual(["id", "modality", "path", "rank", "relevance", "score", "text"]);
    expect(typeof r.json.ms).toBe("number");
    // A cold CLI search loads the model: its time is reported apart from the search's.
    expect(typeof r.json.modelLoadMs).toBe("number");
    const table = clipdb(["search", "--text", "a dog on a beach", "--k", "3", "--db", db]);
    expect(table.stdout).toMatch(/rank\s+id\s+modality\s+score\s+relevance/);
    expect(table.stdout).toMatch(/3 results in [\d.]+ ms \(exact, \d+ vectors scored; model loaded in \d+ ms\)/);
  });

  it("searches item -> item within one modality, without returning the query item", () => {
    const r = clipdb(["search", "--item", images[0], "--modality", "image", "--k", "3", "--db", db, "--json"]);
    expect(r.code).toBe(0);
    expect(r.json.results).toHaveLength(3);
    expect(r.json.results.every((x: any) => x.modality === "image" && x.id !== images[0])).toBe(true);
    expect(r.json.modelLoadMs).toBeUndefined();
    const caps = clipdb(["search", "--item", images[0], "--modality", "text", "--k", "50", "--db", db, "--json"]).json.results;
    expect(caps).toHaveLength(50);
  });

  it("gives a one-line user error with exit 1 and no stack trace", () => {
    const r = clipdb(["search", "--text", "x", "--index", "ivf", "--db", db]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/clipdb index build --type ivf/);
    const none = clipdb(["search", "--k", "3", "--db", db]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/exactly one of --text, --image, --item or --vector-file/);
    const missing = clipdb(["stats", "--db", join(tmp, "nope")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No collection at '.*nope'/);
    // A usage mistake: its line and where the help is, not the whole help (issue 15).
    const usage = clipdb(["search", "--k", "abc", "--db", db]);
    expect(usage.code).toBe(1);
    expect(usage.stderr.trim().split("\n")).toEqual(["error: option '--k <n>' argument 'abc' is invalid. expected a positive integer", "(see 'clipdb search --help')"]);
    const help = clipdb(["search", "--help"]).stdout;
    expect(help.match(/default/g)?.length ?? 0).toBeLessThan(help.split("\n").length); // no option says its default twice
    expect(help).not.toMatch(/default: \$CLIPDB_DIR or/);
    // Offline: clipdb's sentence, not transformers.js's internals (those are under --debug).
    writeFileSync(join(tmp, "one.txt"), "one text\n");
    const offline = clipdb(["add", "--texts", join(tmp, "one.txt"), "--db", join(tmp, "db-offline"), "--model", "no-such/model", "--offline"]);
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/MODEL_UNAVAILABLE|not available.*offline mode is on and the model is not in the cache/);
    expect(offline.stderr).not.toMatch(/local_files_only|allowRemoteModels/);
    expect(existsSync(join(tmp, "db-offline")), "a failed first add leaves no empty collection").toBe(false);
    // serve agrees with search and stats about a missing collection (unless --create), and demo's help tells its own default.
    const serve = clipdb(["serve", "--db", join(tmp, "nope"), "--port", "1"]);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toMatch(/No collection at '.*nope'/);
    expect(clipdb(["demo", "--help"]).stdout.replace(/\s+/g, " ")).toMatch(/default: "\.\/\.clipdb-sample"/);
  });

  it("builds IVF and HNSW indexes that answer, and reports them in status", () => {
    const b = clipdb(["index", "build", "--type", "ivf", "--nlist", "2", "--db", db, "--json"]);
    expect(b.code).toBe(0);
    expect(b.json.built.map((x: any) => x.modality).sort()).toEqual(["image", "text"]);
    expect(clipdb(["index", "build", "--type", "hnsw", "--db", db]).code).toBe(0);
    const exact = clipdb(["search", "--text", "a cat", "--k", "3", "--modality", "image", "--db", db, "--json"]).json.results;
    const ivf = clipdb(["search", "--text", "a cat", "--k", "3", "--modality", "image", "--index", "ivf", "--nprobe", "2", "--db", db, "--json"]).json.results;
    const hnsw = clipdb(["search", "--text", "a cat", "--k", "3", "--modality", "image", "--index", "hnsw", "--db", db, "--json"]).json.results;
    expect(ivf.map((x: any) => x.id)).toEqual(exact.map((x: any) => x.id));
    expect(hnsw.map((x: any) => x.id)).toEqual(exact.map((x: any) => x.id));
    const st = clipdb(["index", "status", "--db", db, "--json"]).json.indexes;
    expect(st.map((x: any) => `${x.type}-${x.modality}`).sort()).toEqual(["hnsw-image", "hnsw-text", "ivf-image", "ivf-text"]);
  });

  it("reports a corrupt JPEG per file, adds the rest, exits 2; new items are searchable through the built index", () => {
    const more = join(tmp, `more-${store}`);
    mkdirSync(more);
    const good = readdirSync(join(COCO, "images")).sort()[20];
    copyFileSync(join(COCO, "images", good), join(more, good));
    const bytes = readFileSync(join(COCO, "images", good));
    writeFileSync(join(more, "broken.jpg"), bytes.subarray(0, 200));
    writeFileSync(join(more, "empty.jpg"), "");
    const r = clipdb(["add", more, "--db", db, "--json"]);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ added: 1, failed: 2 });
    expect(r.json.errors.map((e: any) => e.code)).toEqual(["IMAGE_DECODE", "IMAGE_DECODE"]);
    expect(r.json.errors.map((e: any) => e.path).join(" ")).toMatch(/broken\.jpg.*empty\.jpg/);
    const human = clipdb(["add", more, "--db", db]);
    expect(human.stdout).toMatch(/added 0, skipped 1, failed 2/);
    expect(human.stdout).toMatch(/broken\.jpg: IMAGE_DECODE/);
    const hit = clipdb(["search", "--item", good, "--modality", "image", "--index", "ivf", "--nprobe", "2", "--k", "11", "--db", db, "--json"]);
    expect(hit.json.results).toHaveLength(10);
    const st = clipdb(["index", "status", "--db", db, "--json"]).json.indexes;
    expect(st.find((x: any) => x.type === "ivf" && x.modality === "image")).toMatchObject({ size: 11, pending: store === "sqlite" ? 1 : 0 }); // SQLite: one change since the build, served from the delta until compaction; pgvector updates its index in place
  });

  it("re-embeds a changed file and prunes a deleted one", () => {
    const target = join(photos, images[1]);
    copyFileSync(join(COCO, "images", readdirSync(join(COCO, "images")).sort()[30]), target);
    const r = clipdb(["add", photos, "--db", db, "--json"]);
    expect(r.json).toMatchObject({ added: 1, skipped: 9, failed: 0 });
    unlinkSync(join(photos, images[2]));
    const p = clipdb(["add", photos, "--prune", "--db", db, "--json"]);
    expect(p.code).toBe(0);
    const s = clipdb(["stats", "--db", db, "--json"]).json;
    expect(s.images).toBe(10);
    expect(clipdb(["search", "--item", images[2], "--db", db]).code).toBe(1);
  });

  it("removes items with rm, with their pairs and from every index", () => {
    const before = clipdb(["stats", "--db", db, "--json"]).json;
    const r = clipdb(["rm", images[3], "--db", db, "--json"]);
    expect(r.json).toEqual({ removed: 1, requested: 1, missing: [] });
    const after = clipdb(["stats", "--db", db, "--json"]).json;
    expect(after.images).toBe(before.images - 1);
    expect(after.pairs).toBe(before.pairs - 5);
    for (const index of ["exact", "ivf", "hnsw"]) {
      const res = clipdb(["search", "--text", "anything", "--k", "50", "--modality", "image", "--index", index, "--nprobe", "2", "--db", db, "--json"]).json.results;
      expect(res.map((x: any) => x.id)).not.toContain(images[3]);
    }
    const missing = clipdb(["rm", "no-such-id", "--db", db]);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain("removed 0 of 1; not found: 'no-such-id'");
    expect(clipdb(["rm", "no-such-id", "--db", db, "--json"]).json).toMatchObject({ removed: 0, requested: 1, missing: ["no-such-id"] });
  });

  it("adds texts from a plain file and from JSONL with metadata, filterable with --where", () => {
    const plain = join(tmp, "texts.txt");
    writeFileSync(plain, "a red bicycle\na bowl of soup\n");
    expect(clipdb(["add", "--texts", plain, "--db", db, "--json"]).json).toMatchObject({ added: 2 });
    const jsonl = join(tmp, "texts.jsonl");
    writeFileSync(jsonl, '{"id":"t1","text":"a kite in the sky","lang":"en"}\n{"id":"t2","text":"un chat noir","lang":"fr"}\n');
    expect(clipdb(["add", "--texts", jsonl, "--db", db, "--json"]).json).toMatchObject({ added: 2 });
    const fr = clipdb(["search", "--text", "a cat", "--where", "lang=fr", "--k", "5", "--db", db, "--json"]).json.results;
    expect(fr.map((x: any) => x.id)).toEqual(["t2"]);
  });

  it("evaluates end to end: text table, JSON report of the documented shape, and an SVG plot", () => {
    const out = join(tmp, "eval.json");
    const svg = join(tmp, "eval.svg");
    const r = clipdb(["eval", "--db", db, "--json", out, "--plot", svg, "--nprobe", "1,2", "--ef", "16,64"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/t2i \(\d+ queries\)/);
    expect(r.stdout).toMatch(/index\s+param\s+R@1\s+R@5\s+R@10/);
    // On Postgres the IVF and HNSW rows measure pgvector's indexes on the server, and say so.
    if (store === "postgres") expect(r.stdout).toMatch(/note: ivf: pgvector-ivfflat, the index on the Postgres server \(image:IVF2,Flat, text:IVF2,Flat\)[\s\S]*note: hnsw: pgvector-hnsw/);
    else expect(r.stdout).not.toMatch(/note: (ivf|hnsw)/);
    const rep = JSON.parse(readFileSync(out, "utf8"));
    expect(rep).toMatchObject({ n_images: expect.any(Number), n_texts: expect.any(Number), dim: expect.any(Number) });
    for (const dir of ["t2i", "i2t"]) {
      expect(Object.keys(rep[dir].exact)).toEqual(expect.arrayContaining(["R@1", "R@5", "R@10", "hit@1", "hit@10", "ms_p50", "ms_p99"]));
      expect(rep[dir].ivf.map((x: any) => x.nprobe)).toEqual([1, 2]);
      // scanned_frac where the index counts what it scores (clipdb's IVF, not a pushed-down search).
      expect(Object.keys(rep[dir].ivf[0])).toEqual(expect.arrayContaining(["R@1", "R@10", "ms_p50", "recall_vs_exact@10", ...(store === "sqlite" ? ["scanned_frac"] : [])]));
      expect(rep[dir].hnsw.map((x: any) => x.ef)).toEqual([16, 64]);
      // With nprobe = nlist (2), IVF scans everything and equals exact.
      expect(rep[dir].ivf[1]["recall_vs_exact@10"]).toBe(1);
    }
    expect(readFileSync(svg, "utf8")).toMatch(/^<svg[\s\S]*recall vs latency[\s\S]*<\/svg>/);
    const printed = clipdb(["eval", "--db", db, "--json", "--index", "exact"]);
    expect(JSON.parse(printed.stdout).t2i.exact["R@1"]).toBe(rep.t2i.exact["R@1"]);
  });
});
