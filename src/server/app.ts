import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import multipart from "@fastify/multipart";
import fastifyStatic from "@fastify/static";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import type { CollectionApi } from "../collection/types.js";
import { checkExposure } from "./auth.js";
import type { ServerContext } from "./context.js";
import { JSON_BODY_LIMIT, toHttpError } from "./errors.js";
import { registerItemRoutes } from "./routes-items.js";
import { registerSearchRoutes } from "./routes-search.js";
import { registerStatusRoutes } from "./routes-status.js";

/** Default upload limit: 20 MB. */
export const DEFAULT_UPLOAD_LIMIT = 20 * 1024 * 1024;

/** Options of buildServer. */
export interface ServerOptions {
  /** Bearer token required by writes (POST /items, DELETE /items/:id). Default: none (writes open). */
  token?: string;
  /**
   * Host the server will listen on; default "127.0.0.1". Only used for the safety check: a host that
   * is not loopback needs a token, or buildServer refuses.
   */
  host?: string;
  /** Largest accepted upload in bytes; default 20 MB. Larger uploads get 413. */
  uploadLimit?: number;
  /**
   * Folder of the built web UI, served at "/". Default: the package's web/dist, found by walking up
   * from this file. `false` serves no UI.
   */
  webRoot?: string | false;
  /** Fastify's request logger (pino, JSON lines on stdout); default false. */
  logger?: boolean;
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

/**
 * Builds the HTTP server over an open collection, without listening: use `app.inject` in tests, or
 * `serve()` to listen. Routes live under /api/v1, the OpenAPI 3.1 document at /openapi.json, the
 * web UI at /. Every error is JSON `{ error: { code, message } }`, never a stack trace.
 *
 * The server holds no lock: searches run while an ingest runs, and the collection handles
 * concurrency (SQLite WAL readers, index swaps).
 *
 * @throws ClipdbError INVALID_ARGUMENT when `host` is not loopback and no token is set
 */
export async function buildServer(col: CollectionApi, opts: ServerOptions = {}): Promise<FastifyInstance> {
  const host = opts.host ?? "127.0.0.1";
  checkExposure(host, opts.token);
  const uploadLimit = opts.uploadLimit ?? DEFAULT_UPLOAD_LIMIT;
  const found = opts.webRoot === false ? undefined : (opts.webRoot ?? defaultWebRoot());
  const webRoot = found && existsSync(found) ? found : undefined;
  const ctx: ServerContext = { col, token: opts.token, uploadLimit, startedAt: Date.now() };

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: JSON_BODY_LIMIT,
    routerOptions: { maxParamLength: 2048 },
    // Unknown JSON fields are errors (a typo such as "txt" must not silently search for nothing).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
  });

  app.setErrorHandler((err, req, reply) => {
    const mapped = toHttpError(err, uploadLimit);
    if (mapped.status >= 500) req.log.error({ err }, "request failed");
    // A 401 tells the client which scheme to use.
    if (mapped.status === 401) reply.header("WWW-Authenticate", 'Bearer realm="clipdb"');
    return reply.code(mapped.status).type("application/json; charset=utf-8").send(mapped.body);
  });

  app.setNotFoundHandler((req, reply) => {
    const ui = req.url.startsWith("/api/") || webRoot ? "" : " The web UI is not built: run `npm run build:web`.";
    return reply.code(404).send({ error: { code: "NOT_FOUND", message: `No route or file at ${req.method} ${req.url.split("?")[0]}.${ui}` } });
  });

  app.addHook("onSend", async (_req, reply, payload) => {
    reply.header("X-Content-Type-Options", "nosniff");
    reply.header("Referrer-Policy", "no-referrer");
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

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "clipdb",
        version: "1",
        description:
          "A multimodal database: search images and texts by text, image, item or vector with CLIP. " +
          'Errors are JSON {"error":{"code","message"}}.',
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
