import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";
import type { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import multipart from "@fastify/multipart";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { CollectionApi } from "../collection/types.js";
import { ClipdbError } from "../core/errors.js";
import { checkExposure } from "./auth.js";
import type { ServerContext } from "./context.js";
import { type ErrorBody, JSON_BODY_LIMIT, toHttpError } from "./errors.js";
import { makeGuard, normaliseAllowedHost, normaliseOrigin, UploadSlots } from "./guard.js";
import { BurstReleaser } from "./memory.js";
import { registerItemRoutes } from "./routes-items.js";
import { registerDupeRoutes } from "./routes-dupes.js";
import { registerSearchRoutes } from "./routes-search.js";
import { registerStatusRoutes } from "./routes-status.js";
import { SHARED_SCHEMAS } from "./schemas.js";

/** Default upload limit: 20 MB. */
export const DEFAULT_UPLOAD_LIMIT = 20 * 1024 * 1024;
/** Default cap on uploads received or processed at once: 8. */
export const DEFAULT_MAX_UPLOADS = 8;
/** Default time to receive a whole request, headers and body: 60 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** Default time to receive a request's headers: 15 s. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 15_000;
/** Default time an idle keep-alive connection stays open: 5 s. */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Default time a connection may be silent (no byte in or out) before it is closed: 120 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

/** Log levels of `logLevel`. */
export type LogLevel = "silent" | "fatal" | "error" | "warn" | "info" | "debug" | "trace";

/** Options of buildServer. */
export interface ServerOptions {
  /**
   * Bearer token. Writes (POST /items, DELETE /items/:id) need it whenever it is set; reads need it
   * too when `host` is not loopback, unless `publicRead`. Default: none (loopback only).
   */
  token?: string;
  /**
   * Host the server will listen on; default "127.0.0.1". A host that is not loopback needs a token
   * (or buildServer refuses), and the Host check answers to it (see guard.ts).
   */
  host?: string;
  /**
   * Extra names the `Host` header may carry (a reverse proxy's name, a LAN name): "clipdb.lan",
   * ".example.com" (a domain and its subdomains), or "*" (no Host check: DNS rebinding protection
   * off). Default none: localhost, 127.0.0.1, [::1] and the bound host only.
   */
  allowedHosts?: string[];
  /**
   * Extra origins allowed to write, besides the server's own, e.g. "http://localhost:5173" for a
   * Vite dev server that reaches the API under another origin. Default none.
   */
  allowedOrigins?: string[];
  /** Off loopback with a token: reads (GETs, searches) without the token. Default false. */
  publicRead?: boolean;
  /** Largest accepted upload in bytes; default 20 MB. Larger uploads get 413. */
  uploadLimit?: number;
  /**
   * Uploads (POST /items, POST /search/image) received or processed at once; default 8. One more
   * gets 503 BUSY with Retry-After before its body is read, so memory stays bounded by about
   * `maxUploads × uploadLimit` plus decoding.
   */
  maxUploads?: number;
  /** Time to receive a whole request (headers and body), in ms; default 60 s. Slower requests get 408 and are closed. */
  requestTimeoutMs?: number;
  /** Time to receive the request headers, in ms; default 15 s (at most `requestTimeoutMs`). */
  headersTimeoutMs?: number;
  /** Time an idle keep-alive connection stays open, in ms; default 5 s. */
  keepAliveTimeoutMs?: number;
  /** Time a connection may be silent in both directions, in ms, whatever it is doing; default 120 s. */
  idleTimeoutMs?: number;
  /**
   * Folder of the built web UI, served at "/". Default: the package's web/dist, found by walking up
   * from this file. `false` serves no UI.
   */
  webRoot?: string | false;
  /**
   * Log level; default "warn": every 5xx (error, with its request id and cause) and refused uploads
   * (warn). "info" adds one line per request (method, URL, status, ms). "silent" logs nothing.
   */
  logLevel?: LogLevel;
  /** Where log lines (pino JSON, one per line) go; default process.stderr. */
  logStream?: Writable;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Uploads received or processed now (held upload slots). */
    uploadsInFlight(): number;
  }
}

/**
 * Finds web/dist by walking up from this module (src/server under tsx, dist/src/server when built).
 *
 * @returns the folder, or undefined when the UI has not been built (`npm run build:web`)
 */
export function defaultWebRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, "web", "dist");
    if (existsSync(path.join(candidate, "index.html"))) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

const CSP =
  "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; script-src 'self'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const UPLOAD_ROUTES = new Set(["/api/v1/items", "/api/v1/search/image"]);
/** Seconds a client refused with BUSY is asked to wait. */
const RETRY_AFTER_S = 2;
/** Unread request bodies are read and dropped before an error answer (so the client sees it), up to this much. */
const DRAIN_MAX_MS = 10_000;

const newRequestId = (): string => randomBytes(6).toString("hex");

/** Per-request bookkeeping for the one log line of each request. */
interface Track {
  t0: number;
  logged: boolean;
  closed: boolean;
  status?: number;
}
const TRACK = Symbol("clipdb.track");
type Tracked = FastifyRequest & { [TRACK]?: Track };

/**
 * Builds the HTTP server over an open collection, without listening: use `app.inject` in tests, or
 * `serve()` to listen. Routes live under /api/v1, the OpenAPI 3.1 document at /openapi.json, the
 * web UI at /. Every error is JSON `{ error: { code, message, requestId } }`, never a stack trace,
 * and every response carries an `X-Request-Id` header.
 *
 * Defences (see guard.ts): Host check (DNS rebinding), Origin check on writes (CSRF), tokens, a cap
 * on concurrent uploads, request and header timeouts (408), and no server paths in responses.
 *
 * The server holds no lock: searches run while an ingest runs, and the collection handles
 * concurrency (SQLite WAL readers, index swaps).
 *
 * @throws ClipdbError INVALID_ARGUMENT when `host` is not loopback and no token is set, or an
 *   allowed host or origin is malformed
 */
export async function buildServer(col: CollectionApi, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const host = opts.host ?? "127.0.0.1";
  checkExposure(host, opts.token);
  const allowedHosts = (opts.allowedHosts ?? []).map(normaliseAllowedHost);
  const allowedOrigins = (opts.allowedOrigins ?? []).map(normaliseOrigin);
  const uploadLimit = opts.uploadLimit ?? DEFAULT_UPLOAD_LIMIT;
  const requestTimeout = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(opts.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS, requestTimeout || Infinity);
  const found = opts.webRoot === false ? undefined : (opts.webRoot ?? defaultWebRoot());
  const webRoot = found && existsSync(found) ? found : undefined;
  const ctx: ServerContext = { col, token: opts.token, uploadLimit, startedAt: Date.now() };
  const slots = new UploadSlots(opts.maxUploads ?? DEFAULT_MAX_UPLOADS, RETRY_AFTER_S);
  const releaser = new BurstReleaser();
  const folders = () => [col.dir, col.modelId];
  let closing = false;

  const app = Fastify({
    logger: { level: opts.logLevel ?? "warn", stream: opts.logStream ?? process.stderr },
    // One line per request, written below when the response is done (Fastify's own are two).
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: newRequestId,
    bodyLimit: JSON_BODY_LIMIT,
    requestTimeout,
    connectionTimeout: opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    keepAliveTimeout: opts.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
    // Node checks the request and header timeouts every `connectionsCheckingInterval` (30 s by
    // default, which would let a 1 s limit run to 31 s); the Host requirement is checked by the
    // guard, which answers in clipdb's error shape instead of Node's empty 400.
    http: { headersTimeout, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor((requestTimeout || 4000) / 4))), requireHostHeader: false },
    return503OnClosing: false,
    routerOptions: { maxParamLength: 2048 },
    // Unknown JSON fields are errors (a typo such as "txt" must not silently search for nothing).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // Errors before routing (a URL that is not valid percent-encoding): clipdb's shape too.
    frameworkErrors: (err, req, reply) => {
      track(req as Tracked, reply);
      void sendError(err, req, reply);
    },
    // Errors of the HTTP parser (malformed request, Content-Length with Transfer-Encoding, header
    // overflow) and request/header timeouts, before any request object exists.
    clientErrorHandler: (err, socket) => answerClientError(err, socket, requestTimeout),
  });
  app.decorate("uploadsInFlight", () => slots.active);

  /** Logs one line per request once its response is done, or once its connection died. */
  function track(req: Tracked, reply: FastifyReply): Track {
    if (req[TRACK]) return req[TRACK];
    const t: Track = { t0: performance.now(), logged: false, closed: false };
    req[TRACK] = t;
    reply.raw.once("finish", () => logLine(req, t.status ?? reply.raw.statusCode, false));
    reply.raw.once("close", () => {
      t.closed = true;
      if (t.logged) return;
      if (t.status !== undefined) logLine(req, t.status, true);
      // The handler may still be running (a body cut by the client): its error answer logs the
      // line; in any case it is logged within a few seconds.
      else setTimeout(() => logLine(req, t.status ?? reply.raw.statusCode, true), 5_000).unref();
    });
    return t;
  }

  function logLine(req: Tracked, statusCode: number, aborted: boolean): void {
    const t = req[TRACK];
    if (!t || t.logged) return;
    t.logged = true;
    const line = { method: req.method, url: req.url, statusCode, ms: Math.round((performance.now() - t.t0) * 10) / 10 };
    req.log.info(aborted ? { ...line, aborted: true } : line, "request");
  }

  async function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const t = track(req as Tracked, reply);
    const bodyIncomplete = !(req.raw.complete || req.raw.readableEnded);
    const mapped = toHttpError(err, uploadLimit, { requestId: req.id, bodyIncomplete, folders: folders() });
    // A 408 already went out on the socket (Node's request timeout): that is this request's answer.
    const answered = answeredOnSocket(req.raw);
    if (answered !== undefined) t.closed = true;
    t.status = answered ?? mapped.status;
    if (mapped.status >= 500) {
      if (mapped.body.error.code === "BUSY") req.log.warn({ code: "BUSY", statusCode: 503 }, "upload refused: too many uploads at once");
      else req.log.error({ err, statusCode: mapped.status, code: mapped.body.error.code }, "request failed");
    } else if (bodyIncomplete && req.raw.destroyed) {
      req.log.debug({ err: String((err as Error)?.message ?? err) }, "request body cut by the client");
    }
    if (t.closed) {
      // The connection is gone (or answered): nobody to answer. The request line says what it was.
      logLine(req as Tracked, t.status, true);
      return undefined;
    }
    // Also for errors before routing, where no hook ran.
    reply.header("X-Request-Id", req.id);
    reply.header("X-Content-Type-Options", "nosniff");
    // A 401 tells the client which scheme to use; a 503 BUSY when to come back.
    if (mapped.status === 401) reply.header("WWW-Authenticate", 'Bearer realm="clipdb"');
    if (mapped.body.error.code === "BUSY") reply.header("Retry-After", String(RETRY_AFTER_S));
    // Read and drop what is left of the body first: a client still sending would otherwise see the
    // connection reset instead of this answer. Bounded in bytes and time; beyond, the answer closes.
    if (bodyIncomplete && !(await drain(req.raw, uploadLimit + JSON_BODY_LIMIT, DRAIN_MAX_MS))) reply.header("Connection", "close");
    if (t.closed) {
      logLine(req as Tracked, t.status, true);
      return undefined;
    }
    return reply.code(mapped.status).type("application/json; charset=utf-8").send(mapped.body);
  }

  app.setErrorHandler((err, req, reply) => sendError(err, req, reply));

  app.setNotFoundHandler((req, reply) => {
    const ui = req.url.startsWith("/api/") || webRoot ? "" : " The web UI is not built: run `npm run build:web`.";
    return sendError(new ClipdbError("NOT_FOUND", { route: `${req.method} ${req.url.split("?")[0]}`, hint: ui.trim() || undefined }), req, reply);
  });

  const guard = makeGuard({ host, token: opts.token, allowedHosts, allowedOrigins, publicRead: opts.publicRead ?? false });
  app.addHook("onRequest", async (req, reply) => {
    track(req as Tracked, reply);
    reply.header("X-Request-Id", req.id);
    if (closing) throw new ClipdbError("INTERRUPTED", { reason: "the server is shutting down" });
    guard(req, reply);
    if (req.method === "POST" && UPLOAD_ROUTES.has(req.routeOptions.url ?? "")) {
      releaser.started(Math.min(Number(req.headers["content-length"]) || 0, uploadLimit + JSON_BODY_LIMIT));
      try {
        slots.acquire(reply);
      } finally {
        // After the slot's own release (registered first): the last upload of a burst frees its memory.
        reply.raw.once("close", () => releaser.settled(slots.active));
      }
    }
  });
  app.addHook("preClose", async () => {
    closing = true;
    releaser.stop();
  });

  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "no-referrer");
    // Other sites may not embed our images or read our responses, even as <img> or <script>.
    reply.header("Cross-Origin-Resource-Policy", "same-origin");
    const type = String(reply.getHeader("content-type") ?? "");
    if (type.startsWith("text/html")) {
      reply.header("Content-Security-Policy", CSP);
      reply.header("X-Frame-Options", "DENY");
    }
    return payload;
  });

  await app.register(multipart, {
    limits: { fileSize: uploadLimit, files: 1, fields: 20, parts: 24, fieldSize: 256 * 1024 },
  });

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(swagger, {
    // Shared schemas keep their $id as their name under components.schemas (not "def-0").
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === "string" ? json.$id : `def-${i}`) },
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "clipdb",
        version: "1",
        description:
          "A multimodal database: search images and texts by text, image, item or vector with CLIP. " +
          'Errors are JSON {"error":{"code","message","requestId"}}; every response has an X-Request-Id header.',
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      tags: [
        { name: "search", description: "Text, image, item and vector search" },
        { name: "items", description: "Items, their images and thumbnails, adding and removing" },
        { name: "status", description: "Collection statistics and health" },
      ],
    },
  });

  registerSearchRoutes(app, ctx);
  registerItemRoutes(app, ctx);
  registerDupeRoutes(app, ctx);
  registerStatusRoutes(app, ctx);

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  if (webRoot) {
    await app.register(fastifyStatic, {
      root: path.resolve(webRoot),
      prefix: "/",
      schemaHide: true,
      dotfiles: "deny",
      // Vite puts content-hashed files under assets/: cache them for good; revalidate the rest.
      setHeaders: (res, filePath) => {
        res.setHeader("Cache-Control", filePath.includes(`${path.sep}assets${path.sep}`) ? "public, max-age=31536000, immutable" : "no-cache");
      },
    });
  }

  await app.ready();
  return app;
}

/**
 * Reads and drops the rest of a request body. Resolves true once it ended, false when it is larger
 * than `maxBytes`, slower than `maxMs`, or its connection closed.
 */
function drain(raw: IncomingMessage, maxBytes: number, maxMs: number): Promise<boolean> {
  if (raw.complete || raw.readableEnded) return Promise.resolve(true);
  if (raw.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    let bytes = 0;
    const done = (ended: boolean) => {
      clearTimeout(timer);
      raw.off("data", onData);
      raw.off("end", onEnd);
      raw.off("close", onClose);
      raw.off("error", onClose);
      if (!ended) raw.pause();
      resolve(ended);
    };
    const onData = (c: Buffer) => {
      bytes += c.length;
      if (bytes > maxBytes) done(false);
    };
    const onEnd = () => done(true);
    const onClose = () => done(raw.complete);
    const timer = setTimeout(() => done(false), maxMs);
    raw.on("data", onData);
    raw.once("end", onEnd);
    raw.once("close", onClose);
    raw.once("error", onClose);
    raw.resume();
  });
}

/** Status answered on a socket by answerClientError (a 408 to a request whose handler still runs). */
const ANSWERED = Symbol("clipdb.answered");
type AnsweredSocket = Socket & { [ANSWERED]?: number; _httpMessage?: { headersSent?: boolean } };

/**
 * Errors of the HTTP parser and Node's request timeouts, answered in clipdb's shape on the raw
 * socket. The answer is followed by a half-close, and the socket is destroyed a moment later, so
 * that a client still sending reads the answer instead of a connection reset.
 */
function answerClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: AnsweredSocket, requestTimeout: number): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  // Already answered, or a response already started on this socket: nothing more can be sent.
  if (socket[ANSWERED] !== undefined || !socket.writable || socket._httpMessage?.headersSent) {
    socket.destroy();
    return;
  }
  let status = 400;
  let error: ErrorBody["error"];
  const requestId = newRequestId();
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    status = 408;
    error = {
      code: "REQUEST_TIMEOUT",
      message: new ClipdbError("REQUEST_TIMEOUT", { reason: "the request headers or body came too slowly", limit: requestTimeout }).message,
      requestId,
    };
  } else if (err.code === "HPE_HEADER_OVERFLOW") {
    status = 431;
    error = { code: "INVALID_ARGUMENT", message: "The request headers are too large (the limit is 16 KB in all).", requestId };
  } else {
    const reason = String(err.reason ?? err.message ?? "malformed request").replace(/^Parse Error: /, "");
    error = { code: "INVALID_ARGUMENT", message: `Malformed HTTP request (${err.code ?? "parse error"}): ${reason}.`.replace(/\.\.$/, "."), requestId };
  }
  socket[ANSWERED] = status;
  const body = JSON.stringify({ error });
  const text = status === 408 ? "Request Timeout" : status === 431 ? "Request Header Fields Too Large" : "Bad Request";
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
  );
  const timer = setTimeout(() => socket.destroy(), 1000);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}

/** The status answerClientError sent on this request's socket, if any. */
export function answeredOnSocket(raw: IncomingMessage): number | undefined {
  return (raw.socket as AnsweredSocket | null)?.[ANSWERED];
}
