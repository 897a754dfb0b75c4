/**
 * Hardening of the HTTP API, in process (app.inject): Host and Origin checks (DNS rebinding, CSRF),
 * tokens for reads when exposed, clipdb's error shape for Fastify's own errors, request ids and the
 * error log, and no server paths in responses. The cases that need a real socket (timeouts, HTTP
 * parser errors, truncated bodies, the upload cap) are in limits.test.ts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { buildServer, type ServerOptions } from "../../src/server/index.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages, multipart } from "./helpers.js";

const enc = encodeURIComponent;
const TOKEN = "hardening-token";

let tmp: string;
let modelDir: string;
let col: Collection;
let app: FastifyInstance;
let imageIds: string[] = [];
let jpeg: Buffer;


beforeAll(async () => {
  modelDir = await testModelDir();
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-hardening-"));
  const src = path.join(tmp, "photos", "2024");
  mkdirSync(src, { recursive: true });
  col = await Collection.open(path.join(tmp, "db"), { model: modelDir, offline: true });
  const imgs = cocoImages(3, { skip: 20 });
  const inputs = imgs.map((img, i) => {
    const file = path.join(src, img.name);
    copyFileSync(img.file, file);
    return { path: file, id: `photo-${i}`, captions: img.captions.slice(0, 2) };
  });
  imageIds = inputs.map((x) => x.id);
  expect((await col.addImages(inputs)).failed).toBe(0);
  jpeg = readFileSync(cocoImages(1, { skip: 30 })[0].file);
  app = await buildServer(col, { webRoot: false });
});

afterAll(async () => {
  await app?.close();
  await col?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Res {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/** Asserts clipdb's error shape `{"error":{"code","message"}}` and returns the error. */
function expectError(res: Res, status: number, code: string): { code: string; message: string; requestId?: string } {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers["content-type"])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string; requestId?: string } };
  expect(body.error.code).toBe(code);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(5);
  expect(res.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
  expect(res.body).not.toContain(tmp);
  return body.error;
}

async function addText(server: FastifyInstance, id: string, headers: Record<string, string> = {}): Promise<Res> {
  const { payload, headers: h } = await multipart({ text: `a text item ${id}`, id });
  return server.inject({ method: "POST", url: "/api/v1/items", payload, headers: { ...h, ...headers } });
}

async function addImage(server: FastifyInstance, headers: Record<string, string> = {}, fields: Record<string, string> = {}): Promise<Res> {
  const { payload, headers: h } = await multipart(fields, { field: "image", name: "upload.jpg", type: "image/jpeg", data: jpeg });
  return server.inject({ method: "POST", url: "/api/v1/items", payload, headers: { ...h, ...headers } });
}

async function withServer<T>(opts: ServerOptions, fn: (s: FastifyInstance) => Promise<T>): Promise<T> {
  const s = await buildServer(col, { webRoot: false, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe("Host check (DNS rebinding)", () => {
  const foreign = ["rebind.evil.example", "rebind.evil.example:7860", "localhost.evil.example", "127.0.0.1.nip.io:7860", "10.0.0.7:7860", "evil.example:80@localhost"];

  it.each(foreign)("Host %s is refused with 403 on reads, writes and deletes, and nothing changes", async (host) => {
    expectError(await app.inject({ url: "/api/v1/stats", headers: { host } }), 403, "FORBIDDEN");
    expectError(await app.inject({ url: `/api/v1/items/${imageIds[0]}`, headers: { host } }), 403, "FORBIDDEN");
    expectError(await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a dog" }, headers: { host } }), 403, "FORBIDDEN");
    const id = `rebind-${foreign.indexOf(host)}`;
    expectError(await addText(app, id, { host }), 403, "FORBIDDEN");
    expect((await col.get(id))).toBeUndefined();
    expectError(await app.inject({ method: "DELETE", url: `/api/v1/items/${imageIds[1]}`, headers: { host } }), 403, "FORBIDDEN");
    expect((await col.get(imageIds[1]))).toBeDefined();
  });

  it("the names of this machine are served, whatever the port (SSH tunnels change it)", async () => {
    for (const host of ["localhost:7860", "LOCALHOST:7860", "127.0.0.1:7860", "127.0.0.1", "[::1]:7860", "localhost.:8000", "ui.localhost:5173", "localhost"]) {
      const res = await app.inject({ url: "/api/v1/stats", headers: { host } });
      expect(res.statusCode, `${host}: ${res.body}`).toBe(200);
    }
  });

  it("--allowed-host adds names, and '.domain' a domain with its subdomains", async () => {
    await withServer({ allowedHosts: ["clipdb.example.com", ".lan.example"] }, async (s) => {
      for (const host of ["clipdb.example.com", "clipdb.example.com:443", "lan.example:7860", "box.lan.example:7860"]) {
        expect((await s.inject({ url: "/api/v1/stats", headers: { host } })).statusCode, host).toBe(200);
      }
      for (const host of ["other.example.com", "evil-lan.example", "lan.example.evil.com"]) {
        expectError(await s.inject({ url: "/api/v1/stats", headers: { host } }), 403, "FORBIDDEN");
      }
    });
    await expect(buildServer(col, { webRoot: false, allowedHosts: ["http://x.example/"] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("bound to 0.0.0.0 (with a token) it answers to IP addresses, and to names only from --allowed-host", async () => {
    await withServer({ host: "0.0.0.0", token: TOKEN, allowedHosts: ["box.example"] }, async (s) => {
      const auth = { authorization: `Bearer ${TOKEN}` };
      for (const host of ["192.168.1.10:7860", "[fe80::1]:7860", "box.example:7860", "localhost:7860"]) {
        expect((await s.inject({ url: "/api/v1/stats", headers: { host, ...auth } })).statusCode, host).toBe(200);
      }
      expectError(await s.inject({ url: "/api/v1/stats", headers: { host: "rebind.evil.example:7860", ...auth } }), 403, "FORBIDDEN");
    });
    await withServer({ host: "192.168.1.10", token: TOKEN }, async (s) => {
      expect((await s.inject({ url: "/api/v1/health", headers: { host: "192.168.1.10:7860" } })).statusCode).toBe(200);
      expectError(await s.inject({ url: "/api/v1/health", headers: { host: "192.168.1.11:7860" } }), 403, "FORBIDDEN");
    });
  });
});

describe("Origin check (cross-site request forgery)", () => {
  it("a cross-origin multipart POST /items (what any web page can send without a preflight) is 403, and nothing is stored", async () => {
    const before = (await col.stats());
    const res = await addImage(app, { origin: "http://evil.example", host: "127.0.0.1:7860" }, { id: "csrf-1" });
    expectError(res, 403, "FORBIDDEN");
    expect((await col.get("csrf-1"))).toBeUndefined();
    expect((await col.stats()).images).toBe(before.images);
  });

  it("refuses cross-origin DELETE and search POSTs, a Referer from elsewhere, and Origin null", async () => {
    const host = "127.0.0.1:7860";
    expectError(await app.inject({ method: "DELETE", url: `/api/v1/items/${imageIds[2]}`, headers: { host, origin: "http://evil.example" } }), 403, "FORBIDDEN");
    expect((await col.get(imageIds[2]))).toBeDefined();
    expectError(await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "dog" }, headers: { host, origin: "https://evil.example" } }), 403, "FORBIDDEN");
    expectError(await addText(app, "csrf-2", { host, referer: "http://evil.example/page.html" }), 403, "FORBIDDEN");
    expectError(await addText(app, "csrf-3", { host, origin: "null" }), 403, "FORBIDDEN");
    // Same host, other port: another origin (say, another local dev server).
    expectError(await addText(app, "csrf-4", { host, origin: "http://127.0.0.1:3000" }), 403, "FORBIDDEN");
    for (const id of ["csrf-2", "csrf-3", "csrf-4"]) expect((await col.get(id))).toBeUndefined();
  });

  it("writes from the server's own origin, and from clients that send no Origin (curl), go through", async () => {
    const own = await addText(app, "own-1", { host: "127.0.0.1:7860", origin: "http://127.0.0.1:7860" });
    expect(own.statusCode, own.body).toBe(201);
    const ref = await addText(app, "own-2", { host: "localhost:7860", referer: "http://localhost:7860/?q=dog" });
    expect(ref.statusCode, ref.body).toBe(201);
    const curl = await addText(app, "own-3");
    expect(curl.statusCode, curl.body).toBe(201);
    const del = await app.inject({ method: "DELETE", url: "/api/v1/items/own-3", headers: { host: "127.0.0.1:7860", origin: "http://127.0.0.1:7860" } });
    expect(del.statusCode).toBe(200);
    const search = await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "dog", k: 1 }, headers: { host: "127.0.0.1:7860", origin: "http://127.0.0.1:7860" } });
    expect(search.statusCode).toBe(200);
  });

  it("reads with a foreign Origin are answered (browsers do not let the page read them: no CORS headers)", async () => {
    const res = await app.inject({ url: "/api/v1/stats", headers: { origin: "http://evil.example" } });
    expect(res.statusCode).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(res.headers["cross-origin-resource-policy"]).toBe("same-origin");
  });

  it("--allowed-origin lets the Vite dev server write", async () => {
    await withServer({ allowedOrigins: ["http://localhost:5173/"] }, async (s) => {
      const res = await addText(s, "vite-1", { host: "127.0.0.1:7860", origin: "http://localhost:5173" });
      expect(res.statusCode, res.body).toBe(201);
      expectError(await addText(s, "vite-2", { host: "127.0.0.1:7860", origin: "http://localhost:5174" }), 403, "FORBIDDEN");
    });
    await expect(buildServer(col, { webRoot: false, allowedOrigins: ["localhost:5173"] })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("tokens when exposed", () => {
  const auth = { authorization: `Bearer ${TOKEN}` };

  async function reads(s: FastifyInstance, headers: Record<string, string>): Promise<Res[]> {
    const { payload, headers: h } = await multipart({ k: "1" }, { field: "file", name: "q.jpg", type: "image/jpeg", data: jpeg });
    return [
      await s.inject({ url: "/api/v1/stats", headers }),
      await s.inject({ method: "HEAD", url: "/api/v1/stats", headers }),
      await s.inject({ url: `/api/v1/items/${imageIds[0]}`, headers }),
      await s.inject({ url: `/api/v1/items/${imageIds[0]}/image`, headers }),
      await s.inject({ url: `/api/v1/items/${imageIds[0]}/thumb`, headers }),
      // An encoded path reaches the same route, and needs the same token.
      await s.inject({ url: "/%61pi/v1/stats", headers }),
      await s.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a dog", k: 1 }, headers }),
      await s.inject({ method: "POST", url: "/api/v1/search/image", payload, headers: { ...h, ...headers } }),
    ];
  }

  it("off loopback with --token, every read needs the token; health, the UI and the OpenAPI document do not", async () => {
    const web = path.join(tmp, "web");
    mkdirSync(web, { recursive: true });
    writeFileSync(path.join(web, "index.html"), "<!doctype html><title>ui</title>");
    await withServer({ host: "0.0.0.0", token: TOKEN, webRoot: web }, async (s) => {
      for (const res of await reads(s, {})) {
        expect(res.statusCode, res.body).toBe(401);
        expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
        if (res.body) expect(JSON.parse(res.body).error.code).toBe("UNAUTHORIZED");
      }
      for (const res of await reads(s, { authorization: "Bearer wrong" })) expect(res.statusCode).toBe(401);
      for (const res of await reads(s, auth)) expect(res.statusCode, res.body).toBe(200);
      expect((await s.inject({ url: "/api/v1/health" })).statusCode).toBe(200);
      expect((await s.inject({ url: "/" })).statusCode).toBe(200);
      expect((await s.inject({ url: "/openapi.json" })).statusCode).toBe(200);
      expectError(await addText(s, "tok-1"), 401, "UNAUTHORIZED");
      expect((await addText(s, "tok-1", auth)).statusCode).toBe(201);
    });
  });

  it("--public-read opens reads but not writes", async () => {
    await withServer({ host: "0.0.0.0", token: TOKEN, publicRead: true }, async (s) => {
      for (const res of await reads(s, {})) expect(res.statusCode, res.body).toBe(200);
      expectError(await addText(s, "tok-2"), 401, "UNAUTHORIZED");
      expectError(await s.inject({ method: "DELETE", url: `/api/v1/items/${imageIds[0]}` }), 401, "UNAUTHORIZED");
    });
  });

  it("on loopback a token guards writes only", async () => {
    await withServer({ token: TOKEN }, async (s) => {
      for (const res of await reads(s, {})) expect(res.statusCode, res.body).toBe(200);
      expectError(await addText(s, "tok-3"), 401, "UNAUTHORIZED");
    });
  });

  it("/api/v1/health reveals nothing sensitive: no paths, counts or settings", async () => {
    await withServer({ host: "0.0.0.0", token: TOKEN }, async (s) => {
      const res = await s.inject({ url: "/api/v1/health" });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(Object.keys(body).sort()).toEqual(["dim", "model", "modelState", "status", "uptimeS"]);
      expect(body.model).toBe(path.basename(modelDir));
      expect(res.body).not.toContain(tmp);
      expect(res.body).not.toContain(path.dirname(modelDir));
    });
  });
});

describe("every client mistake is a 4xx in clipdb's error shape", () => {
  it("an invalid percent-encoding in the URL (Fastify's FST_ERR_BAD_URL) is 400 INVALID_ARGUMENT", async () => {
    for (const url of ["/api/v1/items/%ff%fe", "/api/v1/items/%ff%fe/thumb", "/%ff%fe", "/api/v1/items/%E0%A4%A"]) {
      const err = expectError(await app.inject({ url }), 400, "INVALID_ARGUMENT");
      expect(err.message).toMatch(/URL/);
    }
  });

  it("a path parameter above the length limit is a 4xx with the shape", async () => {
    const res = await app.inject({ url: `/api/v1/items/${"x".repeat(5000)}` });
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
    expect(res.json().error.code).toMatch(/^[A-Z_]+$/);
  });

  it("unknown methods and routes are 404 with the shape", async () => {
    expectError(await app.inject({ method: "PUT", url: "/api/v1/items/x" }), 404, "NOT_FOUND");
    expectError(await app.inject({ method: "PATCH", url: "/api/v1/stats", payload: {} }), 404, "NOT_FOUND");
    expectError(await app.inject({ method: "OPTIONS", url: "/api/v1/search" }), 404, "NOT_FOUND");
  });

  it("a multipart body cut before its closing boundary is 400, not 500", async () => {
    const { payload, headers } = await multipart({ id: "cut-1" }, { field: "image", name: "x.jpg", type: "image/jpeg", data: jpeg });
    const cut = payload.subarray(0, Math.floor(payload.length / 2));
    const res = await app.inject({ method: "POST", url: "/api/v1/items", payload: cut, headers });
    expectError(res, 400, "INVALID_ARGUMENT");
    expect((await col.get("cut-1"))).toBeUndefined();
  });
});

describe("request ids and the error log", () => {
  it("every response carries an X-Request-Id, and errors carry it in the body too", async () => {
    const ok = await app.inject({ url: "/api/v1/health" });
    const nf = await app.inject({ url: "/api/v1/items/nope" });
    const bad = await app.inject({ url: "/api/v1/items/%ff" });
    const ids = [ok, nf, bad].map((r) => String(r.headers["x-request-id"] ?? ""));
    for (const id of ids) expect(id).toMatch(/^[0-9a-z-]{6,}$/);
    expect(new Set(ids).size).toBe(3);
    expect(nf.json().error.requestId).toBe(ids[1]);
    expect(bad.json().error.requestId).toBe(ids[2]);
  });

  it("a 5xx is logged at error level with its request id (which the response carries), with the cause, and no client sees the cause", async () => {
    const dir = path.join(tmp, "db-broken");
    const other = await Collection.open(dir, { model: modelDir, offline: true });
    const log = new LogCapture();
    const broken = await buildServer(other, { webRoot: false, logStream: log });
    try {
      expect((await other.addImages([{ path: cocoImages(1, { skip: 41 })[0].file, id: "one.jpg" }])).failed).toBe(0);
      rmSync(path.join(dir, "thumbs"), { recursive: true, force: true });
      writeFileSync(path.join(dir, "thumbs"), "not a folder");
      const res = await broken.inject({ url: "/api/v1/items/one.jpg/thumb" });
      const err = expectError(res, 500, "INTERNAL");
      const rid = String(res.headers["x-request-id"]);
      expect(err.requestId).toBe(rid);
      expect(err.message).toContain(rid);
      expect(res.body).not.toContain("ENOTDIR");
      const line = log.lines.find((l) => l.reqId === rid && l.level === 50);
      expect(line, JSON.stringify(log.lines)).toBeDefined();
      // The cause (the thumbnail folder is a file) is in the log line, with its stack.
      expect(JSON.stringify(line)).toMatch(/thumbs/);
      expect(JSON.stringify(line)).toMatch(/"stack"/);
      // The default level logs errors only: no line per request.
      expect(log.lines.filter((l) => l.level === 30)).toHaveLength(0);
    } finally {
      await broken.close();
      await other.close();
    }
  });

  it("at log level info, one line per request with method, URL, status and time", async () => {
    const log = new LogCapture();
    await withServer({ logLevel: "info", logStream: log }, async (s) => {
      const a = await s.inject({ url: "/api/v1/health" });
      const b = await s.inject({ url: "/api/v1/items/nope" });
      for (const [res, status] of [
        [a, 200],
        [b, 404],
      ] as const) {
        const rid = String(res.headers["x-request-id"]);
        const lines = log.lines.filter((l) => l.reqId === rid);
        expect(lines, JSON.stringify(log.lines)).toHaveLength(1);
        expect(lines[0]).toMatchObject({ level: 30, method: "GET", statusCode: status });
        expect(typeof lines[0].ms).toBe("number");
      }
    });
  });
});

describe("uploads of the same content", () => {
  it("the same image uploaded again, even concurrently, is 201 once and 200 skipped (with the existing id) after", async () => {
    const data = readFileSync(cocoImages(1, { skip: 90 })[0].file);
    await withServer({ maxUploads: 32 }, async (s) => {
      const send = async () => {
        const { payload, headers } = await multipart({}, { field: "image", name: "same.jpg", type: "image/jpeg", data });
        return s.inject({ method: "POST", url: "/api/v1/items", payload, headers });
      };
      const answers = await Promise.all(Array.from({ length: 20 }, send));
      const created = answers.filter((r) => r.statusCode === 201);
      expect(created, answers.map((r) => `${r.statusCode} ${r.body}`).join("\n")).toHaveLength(1);
      const id = created[0].json().ids[0] as string;
      for (const r of answers.filter((x) => x !== created[0])) {
        expect(r.statusCode, r.body).toBe(200);
        expect(r.json()).toMatchObject({ added: 0, skipped: 1, skippedIds: [id] });
      }
      const again = await send();
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ added: 0, skipped: 1, ids: [], skippedIds: [id] });
    });
  });
});

describe("no server paths in responses", () => {
  it("search hits, GET /items/:id and POST /items show file names, never absolute paths", async () => {
    const search = await app.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a photo", k: 50, modality: "image" } });
    expect(search.statusCode).toBe(200);
    const hits = search.json().results as { id: string; path: string | null }[];
    expect(hits.length).toBeGreaterThan(0);
    for (const h of hits.filter((x) => imageIds.includes(x.id))) {
      expect(h.path).toBe(path.basename((await col.get(h.id))!.path!));
      expect(h.path).not.toContain("/");
    }
    const img = await app.inject({ method: "POST", url: "/api/v1/search/image", ...(await multipart({ k: "5" }, { field: "file", name: "q.jpg", type: "image/jpeg", data: jpeg })) });
    expect(img.statusCode).toBe(200);
    expect(img.body).not.toContain(tmp);
    const item = await app.inject({ url: `/api/v1/items/${imageIds[0]}` });
    expect(item.json().path).toBe(path.basename((await col.get(imageIds[0]))!.path!));
    expect(item.body).not.toContain(tmp);
    const added = await addImage(app, {}, { id: "paths-upload" });
    expect([200, 201]).toContain(added.statusCode);
    expect(added.body).not.toContain(tmp);
    const up = await app.inject({ url: "/api/v1/items/paths-upload" });
    expect(up.body).not.toContain(tmp);
    expect(up.body).not.toContain(col.dir);
    // The server still serves the image by id.
    const bytes = await app.inject({ url: `/api/v1/items/${imageIds[0]}/image` });
    expect(bytes.statusCode).toBe(200);
    expect(bytes.rawPayload.equals(readFileSync((await col.get(imageIds[0]))!.path!))).toBe(true);
  });

  it("/health and /stats show a local model by its folder name, and damaged indexes without the collection's path", async () => {
    const health = (await app.inject({ url: "/api/v1/health" })).json();
    const stats = await app.inject({ url: "/api/v1/stats" });
    expect(path.isAbsolute(col.modelId!)).toBe(true); // the collection records the full folder
    expect(health.model).toBe(path.basename(modelDir));
    expect(stats.json().model).toBe(path.basename(modelDir));
    expect(stats.body).not.toContain(path.dirname(modelDir));

    const dir = path.join(tmp, "db-damaged");
    const first = await Collection.open(dir, { model: modelDir, offline: true });
    await first.addImages(cocoImages(45, { skip: 50 }).map((c) => ({ path: c.file })));
    await first.buildIndex({ type: "ivf" });
    await first.close();
    const file = path.join(dir, "indexes", readdirSync(path.join(dir, "indexes")).find((f) => f.startsWith("ivf-image"))!);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length >> 1)); // truncated
    const other = await Collection.open(dir, { create: false });
    const s = await buildServer(other, { webRoot: false });
    try {
      const search = await s.inject({ method: "POST", url: "/api/v1/search", payload: { text: "a dog", index: "ivf", modality: "image" } });
      expectError(search, 409, "INDEX_CORRUPT");
      expect(search.body).not.toContain(dir);
      const res = await s.inject({ url: "/api/v1/stats" });
      const damaged = (res.json().indexes as { damaged?: string }[]).find((i) => i.damaged);
      expect(damaged, res.body).toBeDefined();
      expect(res.body).not.toContain(dir);
      expect(damaged!.damaged).toContain("db-damaged");
    } finally {
      await s.close();
      await other.close();
    }
  });
});
