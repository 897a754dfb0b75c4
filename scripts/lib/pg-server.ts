/**
 * A development and test Postgres: PGlite (Postgres in WASM) with the pgvector extension, served
 * on a loopback TCP port by pglite-socket, so clients reach it with the ordinary `pg` driver over
 * the real wire protocol. `servePglite` runs it in this process (`npm run pg`); `startPgServer`
 * runs it in a child process, as tests need (reached over TCP, killable, no shared heap).
 *
 * PGlite is one backend: the socket server runs one query at a time, and while a client is inside
 * a transaction block the others wait. Size clients' pools to 1 against it.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Options of the server. */
export interface PgServeOptions {
  /** TCP port; default 5499. 0 picks a free one (the returned url has it). */
  port?: number;
  /** Interface to bind; default 127.0.0.1 (loopback only: PGlite accepts any password). */
  host?: string;
  /** Data folder, kept between runs; default none (in memory, gone when the server stops). */
  dir?: string;
  /** Load the pgvector extension (`CREATE EXTENSION vector` then works); default true. */
  vector?: boolean;
  /**
   * Client connections accepted at once; default 4. They share PGlite's one backend: queries
   * queue, and a connection inside a transaction block holds the others off until it ends.
   */
  maxConnections?: number;
}

/** A running server. */
export interface PgServer {
  /** Its connection string, e.g. postgres://postgres@127.0.0.1:5499/postgres. */
  url: string;
  /** Stops it (idempotent). */
  stop(): Promise<void>;
}

/** Starts the server in this process; resolves once it listens. */
export async function servePglite(opts: PgServeOptions = {}): Promise<PgServer> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const extensions: Record<string, Awaited<typeof import("@electric-sql/pglite-pgvector")>["vector"]> = opts.vector === false ? {} : { vector: (await import("@electric-sql/pglite-pgvector")).vector };
  const db = await PGlite.create({ dataDir: opts.dir ? path.resolve(opts.dir) : undefined, extensions });
  const host = opts.host ?? "127.0.0.1";
  const server = new PGLiteSocketServer({ db, host, port: opts.port ?? 5499, maxConnections: opts.maxConnections ?? 4 });
  try {
    await server.start();
  } catch (e) {
    await db.close();
    throw e;
  }
  const port = Number(server.getServerConn().split(":").pop());
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    stop: () =>
      (stopped ??= (async () => {
        await server.stop();
        await db.close();
      })()),
  };
}

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "pg.ts");

/**
 * Starts the server in a child process (`node --import tsx scripts/pg.ts`) on a free port and
 * resolves with its url once it listens (PGlite takes about 3 s to start on 2 cores); `stop()`
 * sends SIGTERM (SIGKILL after 5 s). The child also exits when this process does (it watches
 * its stdin), so a crashed test run leaves no server behind. `timeoutMs` (default 60000) bounds
 * the start.
 */
export function startPgServer(opts: Omit<PgServeOptions, "port"> & { timeoutMs?: number } = {}): Promise<PgServer & { pid: number }> {
  const args = ["--import", "tsx", SCRIPT, "--port", "0", "--exit-with-parent"];
  if (opts.host) args.push("--host", opts.host);
  if (opts.dir) args.push("--dir", opts.dir);
  if (opts.vector === false) args.push("--plain");
  if (opts.maxConnections) args.push("--max-connections", String(opts.maxConnections));
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "pipe"], cwd: path.join(path.dirname(SCRIPT), "..") });
  let out = "";
  let err = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the PGlite server did not start within ${opts.timeoutMs ?? 60_000} ms: ${err.trim()}`));
    }, opts.timeoutMs ?? 60_000);
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(postgres:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], pid: child.pid!, stop });
      }
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the PGlite server exited (${signal ?? code}) before it listened: ${err.trim()}`));
    });
  });
}
