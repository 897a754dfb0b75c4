/**
 * Hostile folders and files (issue 10): FIFOs and symlink loops in a folder, malformed COCO and
 * JSONL records, non-UTF-8 text files, metadata filter keys that break JSON paths, and the same
 * upload arriving many times at once. Each must give a clear per-file or per-record error and lose
 * nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Collection } from "../../src/collection/index.js";
import { testModelDir } from "../fixtures/model.js";
import { CLI, DATA, clipdb, type Run } from "./helpers.js";

const COCO = join(DATA, "coco-val2017-sample");
const FILES = readdirSync(join(COCO, "images")).sort();
let tmp: string;
let model: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-hostile-"));
  model = testModelDir();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A folder with `n` good COCO photos. */
function photos(name: string, n: number): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of FILES.slice(0, n)) copyFileSync(join(COCO, "images", f), join(dir, f));
  return dir;
}

/** Runs the CLI with a generous safety timeout: a hang fails the test instead of stalling CI. */
function run(args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000 });
  expect(r.error, "the command hung or could not start").toBeUndefined();
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

describe("hostile folders", () => {
  it("a FIFO named like an image is skipped without being opened; the good files are added", () => {
    const dir = photos("fifo", 3);
    execFileSync("mkfifo", [join(dir, "pipe.jpg")]);
    const r = run(["add", dir, "--db", join(tmp, "db-fifo"), "--model", model, "--json"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.json).toMatchObject({ added: 3, failed: 1 });
    expect((r.json as any).errors[0].path).toMatch(/pipe\.jpg$/);
    expect((r.json as any).errors[0].message).toMatch(/not a regular file/);
  });

  it("a FIFO given by name is refused per file too", () => {
    const dir = photos("fifo-arg", 1);
    execFileSync("mkfifo", [join(dir, "named.jpg")]);
    const r = run(["add", join(dir, "named.jpg"), join(dir, FILES[0]), "--db", join(tmp, "db-fifo-arg"), "--model", model, "--json"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.json).toMatchObject({ added: 1, failed: 1, errors: [{ code: "IMAGE_DECODE" }] });
  });

  it("a directory symlink loop is reported per file and the rest is added", () => {
    const dir = photos("loop", 3);
    symlinkSync(".", join(dir, "self"));
    mkdirSync(join(dir, "sub"));
    copyFileSync(join(COCO, "images", FILES[5]), join(dir, "sub", FILES[5]));
    symlinkSync("..", join(dir, "sub", "up"));
    const r = run(["add", dir, "--db", join(tmp, "db-loop"), "--model", model, "--json"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.json).toMatchObject({ added: 4, failed: 2 });
    expect((r.json as any).errors.map((e: any) => e.message).join("\n")).toMatch(/self'.*loop[\s\S]*up'.*loop/);
  });
});

describe("hostile caption and text files", () => {
  const coco = (images: unknown, annotations: unknown) => {
    const p = join(tmp, `coco-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(p, JSON.stringify({ images, annotations }));
    return p;
  };

  it("COCO records of the wrong shape are INVALID_ARGUMENT naming the file and record (exit 1)", () => {
    const dir = photos("coco-bad", 2);
    const db = join(tmp, "db-coco");
    const num = run(["add", dir, "--captions", coco([{ id: 1, file_name: FILES[0] }], [{ image_id: 1, caption: "ok" }, { image_id: 1, caption: 5 }]), "--db", db, "--model", model]);
    expect(num.code).toBe(1);
    expect(num.stderr).toMatch(/annotations\[1\] of '.*coco-.*\.json' is not an object with an "image_id" and a "caption" string/);
    expect(num.stderr).not.toMatch(/at .*\.js:\d+/); // one line, no stack trace
    const nul = run(["add", dir, "--captions", coco([null], []), "--db", db, "--model", model]);
    expect(nul.code).toBe(1);
    expect(nul.stderr).toMatch(/images\[0\] of '.*' is not an object with an "id"/);
  });

  it("a JSONL id that is not a string is refused with its line", () => {
    const p = join(tmp, "ids.jsonl");
    writeFileSync(p, '{"id": "a", "text": "fine"}\n{"id": {"x": 1}, "text": "object id"}\n');
    const r = run(["add", "--texts", p, "--db", join(tmp, "db-jsonl"), "--model", model]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2 of '.*ids\.jsonl' has an "id" that is not a non-empty string/);
  });

  it("a Latin-1 texts file is refused with the line number, and read right with --encoding latin1", () => {
    const p = join(tmp, "latin1.txt");
    writeFileSync(p, Buffer.concat([Buffer.from("plain line\n"), Buffer.from("caf\xe9 au lait\n", "latin1")]));
    const db = join(tmp, "db-latin1");
    const r = run(["add", "--texts", p, "--db", db, "--model", model]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2 of '.*latin1\.txt' is not valid utf-8.*--encoding latin1/);
    const ok = run(["add", "--texts", p, "--encoding", "latin1", "--db", db, "--model", model, "--json"]);
    expect(ok.code, ok.stderr).toBe(0);
    const hit = run(["search", "--text", "café au lait", "--k", "2", "--db", db, "--json"]);
    expect((hit.json as any).results.map((x: any) => x.text)).toContain("café au lait");
  });
});

describe("metadata filter keys", () => {
  it("a key with a backslash or NUL is a user error naming the key, not an internal one", async () => {
    const db = join(tmp, "db-where");
    const p = join(tmp, "meta.jsonl");
    writeFileSync(p, '{"id": "t1", "text": "a red bus", "city": "oslo"}\n');
    expect(clipdb(["add", "--texts", p, "--db", db, "--model", model]).code).toBe(0);
    for (const key of ["a\\b", 'q"uote', "tab\tkey"]) {
      const r = clipdb(["search", "--text", "bus", "--where", `${key}=1`, "--db", db]);
      expect(r.code, key).toBe(1);
      expect(r.stderr, key).toMatch(/Invalid argument 'where': the key .* contains a double quote, a backslash or a control character/);
    }
    expect(clipdb(["search", "--text", "bus", "--where", "city=oslo", "--db", db, "--json"]).json.results).toHaveLength(1);
    const { buildServer } = await import("../../src/server/index.js");
    const col = await Collection.open(db, { create: false });
    const app = await buildServer(col, { webRoot: false });
    for (const key of ["a\\b", "nul\u0000x"]) {
      const res = await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "bus", where: { [key]: "1" } } });
      expect(res.statusCode, key).toBe(400);
      expect(res.json().error.code).toBe("INVALID_ARGUMENT");
    }
    await app.close();
    await col.close();
  });
});

describe("the same content arriving many times at once", () => {
  it("is stored once; every other concurrent add is a skip naming the stored id, not DUPLICATE_ID", async () => {
    const col = await Collection.open(join(tmp, "db-concurrent"), { model });
    const bytes = readFileSync(join(COCO, "images", FILES[7]));
    const sums = await Promise.all(Array.from({ length: 50 }, () => col.addImages([{ data: bytes, name: "upload.jpg", captions: ["a caption"] }])));
    expect(sums.reduce((n, s) => n + s.added, 0)).toBe(1);
    expect(sums.reduce((n, s) => n + s.skipped, 0)).toBe(49);
    expect(sums.every((s) => s.failed === 0)).toBe(true);
    const id = sums.find((s) => s.added)!.ids[0];
    expect(sums.filter((s) => s.skipped).every((s) => s.skippedIds[0] === id)).toBe(true);
    expect((await col.stats())).toMatchObject({ images: 1, texts: 1, pairs: 1 });
    const texts = await Promise.all(Array.from({ length: 20 }, () => col.addTexts([{ text: "the same note" }])));
    expect(texts.reduce((n, s) => n + s.added, 0)).toBe(1);
    expect(texts.reduce((n, s) => n + s.skipped, 0)).toBe(19);
    await col.close();
  });
});
