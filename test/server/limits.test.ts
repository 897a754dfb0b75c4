/**
 * Limits of a real listening server on 127.0.0.1 (the cases app.inject cannot show): errors of the
 * HTTP parser in clipdb's shape, header and body timeouts against slow clients, bodies cut by the
 * client, the cap on concurrent uploads (503 with Retry-After, slots given back), and memory across
 * a burst of 100 concurrent 19 MB uploads to a `clipdb serve` child process.
 *
 * Every loop is bounded in count and time, and the tests wait on conditions, never on fixed sleeps.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Collection } from "../../src/collection/index.js";
import { serve, type ServeHandle, type ServeOptions } from "../../src/server/index.js";
import { LogCapture } from "../fixtures/log-capture.js";
import { testModelDir } from "../fixtures/model.js";
import { cocoImages } from "./helpers.js";
import { multipartFrame, parseRaw, rawRequest, rssOf, startServe, upload, waitFor } from "./http-client.js";

let tmp: string;
let modelDir: string;
let col: Collection;
let jpeg: Buffer;


beforeAll(async () => {
  modelDir = await testModelDir();
  tmp = mkdtempSync(path.join(os.tmpdir(), "clipdb-limits-"));
  col = await Collection.open(path.join(tmp, "db"), { model: modelDir, offline: true });
  const imgs = cocoImages(3, { skip: 60 });
  expect((await col.addImages(imgs.map((c) => ({ path: c.file })))).failed).toBe(0);
  jpeg = readFileSync(cocoImages(1, { skip: 70 })[0].file);
});

afterAll(async () => {
  await col?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function withServe<T>(opts: Omit<ServeOptions, "col">, fn: (s: ServeHandle) => Promise<T>): Promise<T> {
  const s = await serve({ col, port: 0, webRoot: false, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Asserts a raw HTTP answer in clipdb's error shape, with a request id. */
function expectRawError(text: string, status: number, code: string): void {
  const res = parseRaw(text);
  expect(res.status, text).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(res.headers["x-request-id"]).toMatch(/^[0-9a-z-]{6,}$/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(5);
}

describe("errors of the HTTP parser are in clipdb's shape", () => {
  it("Content-Length together with Transfer-Encoding (request smuggling) is 400", async () => {
    await withServe({}, async (s) => {
      const req = `POST /api/v1/search HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`;
      const { text, closed } = await rawRequest(s.port, req);
      expect(closed).toBe(true);
      expectRawError(text, 400, "INVALID_ARGUMENT");
    });
  });

  it("a malformed request line, oversized headers and a missing Host are 400, 431 and 400", async () => {
    await withServe({}, async (s) => {
      expectRawError((await rawRequest(s.port, "GARBAGE\r\n\r\n")).text, 400, "INVALID_ARGUMENT");
      const big = `GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`;
      expectRawError((await rawRequest(s.port, big)).text, 431, "INVALID_ARGUMENT");
      expectRawError((await rawRequest(s.port, "GET /api/v1/health HTTP/1.1\r\nConnection: close\r\n\r\n")).text, 400, "INVALID_ARGUMENT");
      // HTTP/1.0 has no Host requirement: answered.
      expect(parseRaw((await rawRequest(s.port, "GET /api/v1/health HTTP/1.0\r\n\r\n")).text).status).toBe(200);
    });
  });
});

describe("timeouts", () => {
  it("slow bodies (100 bytes every 250 ms of a declared 10 MB) are cut with 408 at the request timeout", async () => {
    await withServe({ requestTimeoutMs: 1500, maxUploads: 50 }, async (s) => {
      const n = 20;
      const t0 = Date.now();
      const { head, contentType } = multipartFrame("image", "slow.jpg", "image/jpeg");
      const results = await Promise.all(
        Array.from(
          { length: n },
          () =>
            new Promise<{ text: string; ms: number; closed: boolean }>((resolve) => {
              const sock = net.connect(s.port, "127.0.0.1");
              const chunks: Buffer[] = [];
              let sent = 0;
              const timer = setInterval(() => {
                // Bounded: at most 15 s of trickling (60 writes), then give up.
                if (sock.destroyed || sent++ > 60) return clearInterval(timer);
                sock.write(Buffer.alloc(100, 0x41));
              }, 250);
              const giveUp = setTimeout(() => sock.destroy(), 20_000);
              sock.on("connect", () => {
                sock.write(`POST /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n`);
                sock.write(head);
              });
              sock.on("data", (c) => chunks.push(c));
              sock.on("error", () => undefined);
              sock.on("close", () => {
                clearInterval(timer);
                clearTimeout(giveUp);
                resolve({ text: Buffer.concat(chunks).toString("latin1"), ms: Date.now() - t0, closed: sent <= 61 });
              });
            }),
        ),
      );
      for (const r of results) {
        // The timeout is checked once a second: 1.5 s + 1 s, with a wide margin for a busy machine.
        expect(r.ms).toBeLessThan(10_000);
        expectRawError(r.text, 408, "REQUEST_TIMEOUT");
      }
      // Every upload slot was given back: a normal upload goes through.
      const ok = await upload(`${s.url}/api/v1/search/image`, jpeg);
      expect(ok.status, ok.body).toBe(200);
    });
  });

  it("slow headers are cut at the headers timeout", async () => {
    await withServe({ requestTimeoutMs: 1500, headersTimeoutMs: 1000 }, async (s) => {
      const t0 = Date.now();
      const sock = net.connect(s.port, "127.0.0.1");
      sock.on("error", () => undefined);
      sock.write(`GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
      let i = 0;
      const timer = setInterval(() => !sock.destroyed && i++ < 60 && sock.write(`X-${i}: a\r\n`), 200);
      const chunks: Buffer[] = [];
      sock.on("data", (c) => chunks.push(c));
      const closed = await waitFor(() => sock.destroyed || sock.readableEnded, 10_000);
      clearInterval(timer);
      sock.destroy();
      expect(closed).toBe(true);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expectRawError(Buffer.concat(chunks).toString("latin1"), 408, "REQUEST_TIMEOUT");
    });
  });

  it("states its defaults: requests within 60 s, headers within 15 s, idle keep-alive 5 s", async () => {
    await withServe({}, async (s) => {
      expect(s.app.server.requestTimeout).toBe(60_000);
      expect(s.app.server.headersTimeout).toBe(15_000);
      expect(s.app.server.keepAliveTimeout).toBe(5_000);
      expect(s.app.server.timeout).toBe(120_000);
    });
  });
});

describe("a multipart body cut by the client", () => {
  it("is a 400 (client error) in the log, never a logged 500", async () => {
    const log = new LogCapture();
    await withServe({ logLevel: "info", logStream: log }, async (s) => {
      const { head, tail, contentType } = multipartFrame("image", "cut.jpg", "image/jpeg", { id: "cut-by-client" });
      for (const how of ["end", "destroy"] as const) {
        const url = `/api/v1/items?cut=${how}`;
        const sock = net.connect(s.port, "127.0.0.1");
        sock.on("error", () => undefined);
        await new Promise((r) => sock.once("connect", r));
        sock.write(`POST ${url} HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${head.length + jpeg.length + tail.length}\r\n\r\n`);
        sock.write(head);
        sock.write(jpeg.subarray(0, jpeg.length >> 1));
        // Wait until the server is reading the upload (it holds an upload slot), then cut it.
        expect(await waitFor(() => s.app.uploadsInFlight() === 1, 10_000)).toBe(true);
        if (how === "end") sock.end();
        else sock.destroy();
        const logged = await waitFor(() => log.lines.some((l) => l.url === url), 10_000);
        expect(logged, JSON.stringify(log.lines)).toBe(true);
        const line = log.lines.find((l) => l.url === url)!;
        expect(line.statusCode, JSON.stringify(line)).toBe(400);
        // Its slot is given back.
        expect(await waitFor(() => s.app.uploadsInFlight() === 0, 10_000)).toBe(true);
      }
      expect(log.lines.filter((l) => Number(l.level) >= 50), JSON.stringify(log.lines)).toEqual([]);
      expect((await col.get("cut-by-client"))).toBeUndefined();
    });
  });
});

describe("the cap on concurrent uploads", () => {
  /** Starts an upload and holds it after half the file, until release() or destroy(). */
  function heldUpload(port: number): { release: () => Promise<number>; destroy: () => void } {
    const { head, tail, contentType } = multipartFrame("file", "held.jpg", "image/jpeg");
    const sock = net.connect(port, "127.0.0.1");
    sock.on("error", () => undefined);
    const chunks: Buffer[] = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("connect", () => {
      sock.write(`POST /api/v1/search/image HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\nContent-Length: ${head.length + jpeg.length + tail.length}\r\nConnection: close\r\n\r\n`);
      sock.write(head);
      sock.write(jpeg.subarray(0, jpeg.length >> 1));
    });
    return {
      release: async () => {
        sock.write(jpeg.subarray(jpeg.length >> 1));
        sock.write(tail);
        await waitFor(() => sock.destroyed || sock.readableEnded, 20_000);
        return parseRaw(Buffer.concat(chunks).toString("latin1")).status;
      },
      destroy: () => sock.destroy(),
    };
  }

  it("beyond --max-uploads an upload gets 503 BUSY with Retry-After; slots come back when uploads end or their clients leave", async () => {
    await withServe({ maxUploads: 2 }, async (s) => {
      const url = `${s.url}/api/v1/search/image`;
      const a = heldUpload(s.port);
      const b = heldUpload(s.port);
      // Wait (bounded) until both hold their slots: then a third upload is refused.
      let busy: Awaited<ReturnType<typeof upload>> | undefined;
      const refused = await waitFor(async () => {
        const r = await upload(url, jpeg);
        if (r.status === 503) busy = r;
        return r.status === 503;
      }, 15_000);
      expect(refused).toBe(true);
      expect(busy!.headers["retry-after"]).toMatch(/^\d+$/);
      const err = JSON.parse(busy!.body).error;
      expect(err.code).toBe("BUSY");
      expect(err.message).toMatch(/2 uploads/);
      // Reads and JSON searches are not uploads: they go on.
      expect((await fetch(`${s.url}/api/v1/stats`)).status).toBe(200);
      expect((await fetch(`${s.url}/api/v1/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: "a dog" }) })).status).toBe(200);

      // A client that leaves gives its slot back.
      a.destroy();
      expect(await waitFor(async () => (await upload(url, jpeg)).status === 200, 15_000)).toBe(true);
      // One that finishes gets its answer, and gives its slot back too.
      expect(await b.release()).toBe(200);
      const [x, y] = await Promise.all([upload(url, jpeg), upload(url, jpeg)]);
      expect([x.status, y.status]).toEqual([200, 200]);
    });
  });

  it("100 concurrent 19 MB uploads: the excess gets 503, and the server's memory returns after the burst", async () => {
    // A noise PNG (noise does not compress) of about 19 MB.
    const side = 2520;
    const png = await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 0 }).toBuffer();
    expect(png.length).toBeGreaterThan(18 * 1024 * 1024);
    expect(png.length).toBeLessThan(20 * 1024 * 1024);
    // The built CLI when it is up to date (as `npm test` leaves it), else the source through tsx.
    const srv = await startServe(["--db", path.join(tmp, "db-burst"), "--create", "--model", modelDir, "--offline"]);
    try {
      const url = `${srv.base}/api/v1/search/image`;
      const pid = srv.child.pid!;
      // Warm up (model loaded, code paths compiled), then measure.
      expect((await upload(url, png)).status).toBe(200);
      const before = rssOf(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
      const answers = await Promise.all(Array.from({ length: 100 }, () => upload(url, png)));
      clearInterval(sampler);
      const MB = 1024 * 1024;
      // Measured on 2 cores (bench/upload-burst.ts, built CLI): without a cap the peak was +2.1 GB
      // over the 222 MB before, and +0.9 GB was still held 20 s later. With the default cap of 8:
      // about +0.27 GB at the peak, which an idle V8 held for 60 s and more until the server ran a
      // collection after the burst; now +0.11 GB 2 s after it (+0.015 GB here, on an empty
      // collection: 145 → 300 → 160 MB). The bounds are generous on purpose.
      expect(peak - before, `peak ${peak / MB} MB, before ${before / MB} MB`).toBeLessThan(1024 * MB);
      const settled = await waitFor(() => rssOf(pid) - before < 400 * MB, 90_000, 250);
      expect(settled, `RSS ${rssOf(pid) / MB} MB, before ${before / MB} MB`).toBe(true);
      // How much of the burst comes back and when depends on when V8 collects (measured within 2 s
      // from the built CLI, 13 to 15 s through tsx's loader, and sometimes only 17 MB of a 30 MB
      // rise on a loaded machine), so it is reported by bench/upload-burst.ts, not asserted here.
      const by = (st: number) => answers.filter((x) => x.status === st).length;
      // Every upload was answered: served, or refused with Retry-After.
      expect(by(200) + by(503), JSON.stringify(answers.filter((x) => x.status !== 200 && x.status !== 503).slice(0, 3))).toBe(100);
      expect(by(503)).toBeGreaterThan(0);
      expect(by(200)).toBeGreaterThanOrEqual(1);
      for (const x of answers.filter((r) => r.status === 503)) expect(x.headers["retry-after"]).toMatch(/^\d+$/);
      // And the server still answers.
      expect((await fetch(`${srv.base}/api/v1/health`)).status).toBe(200);
      // By default the log has the refused uploads (warn, with their request ids), no request lines.
      const refusedId = answers.find((r) => r.status === 503)!.headers["x-request-id"];
      expect(await waitFor(() => srv.log().includes(`"reqId":"${refusedId}"`), 10_000)).toBe(true);
      expect(srv.log()).not.toMatch(/"msg":"request"/);
    } finally {
      await srv.stop();
    }
  }, 300_000);
});

describe("clipdb serve --log-level info", () => {
  it("logs one line per request to stderr, with the request id the response carries", async () => {
    const srv = await startServe(["--db", path.join(tmp, "db-log"), "--create", "--model", modelDir, "--offline", "--log-level", "info"]);
    try {
      const res = await fetch(`${srv.base}/api/v1/items/nope`);
      expect(res.status).toBe(404);
      const id = res.headers.get("x-request-id");
      expect(id).toMatch(/^[0-9a-z-]{6,}$/);
      expect(await waitFor(() => srv.log().includes(`"reqId":"${id}"`), 10_000), srv.log()).toBe(true);
      const lines = srv
        .log()
        .split("\n")
        .filter((l) => l.includes(`"reqId":"${id}"`))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 30, method: "GET", url: "/api/v1/items/nope", statusCode: 404, msg: "request" });
    } finally {
      await srv.stop();
    }
  }, 60_000);
});
