/**
 * Raw HTTP clients for the tests that need a real listening server (and for bench/upload-burst.ts):
 * multipart uploads streamed from one shared buffer (so a burst of 100 uploads costs the client no
 * copies), raw socket requests that send exactly the bytes given, and RSS of a process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { ROOT } from "./helpers.js";
import { freePort } from "../fixtures/net.js";

/** The answer of one raw request. */
export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

/**
 * The head and tail of a multipart/form-data body around one file part, so the file bytes can be
 * written as they are (no copy).
 */
export function multipartFrame(field: string, filename: string, type: string, fields: Record<string, string> = {}): { head: Buffer; tail: Buffer; contentType: string } {
  const boundary = `----clipdb${Math.random().toString(16).slice(2)}`;
  let head = "";
  for (const [k, v] of Object.entries(fields)) head += `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`;
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${filename}"\r\nContent-Type: ${type}\r\n\r\n`;
  return { head: Buffer.from(head), tail: Buffer.from(`\r\n--${boundary}--\r\n`), contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * POSTs one multipart upload of `data` to `url` (a fresh connection, no keep-alive) and resolves
 * with the answer. A request the server cuts before it answers resolves with status 0.
 */
export function upload(url: string, data: Buffer, opts: { field?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const { head, tail, contentType } = multipartFrame(opts.field ?? "file", "big.png", "image/png");
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Omit<RawAnswer, "ms">) => {
      if (done) return;
      done = true;
      resolve({ ...a, ms: performance.now() - t0 });
    };
    const req = http.request(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": contentType, "content-length": String(head.length + data.length + tail.length), connection: "close", ...opts.headers },
      timeout: opts.timeoutMs ?? 120_000,
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("timeout", () => req.destroy(new Error("client timeout")));
    req.on("error", (e) => finish({ status: 0, headers: {}, body: String(e) }));
    req.write(head);
    req.write(data);
    req.end(tail);
  });
}

/**
 * Sends `bytes` on a fresh TCP connection and collects everything the server writes back until it
 * closes the connection (or `timeoutMs` passes, then the socket is destroyed).
 */
export function rawRequest(port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: false });
    }, timeoutMs);
    sock.on("connect", () => sock.write(bytes));
    sock.on("data", (c) => chunks.push(c));
    sock.on("error", () => undefined);
    sock.on("close", () => {
      clearTimeout(timer);
      resolve({ text: Buffer.concat(chunks).toString("latin1"), closed: true });
    });
  });
}

/** Parses a raw HTTP/1.1 response: status line, headers, body (no chunked decoding needed here). */
export function parseRaw(text: string): { status: number; headers: Record<string, string>; body: string } {
  const end = text.indexOf("\r\n\r\n");
  const headLines = (end < 0 ? text : text.slice(0, end)).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headLines[0] ?? "")?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of headLines.slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { status, headers, body: end < 0 ? "" : text.slice(end + 4) };
}

/** Resident set size of a process in bytes (Linux /proc), or of this process. */
export function rssOf(pid?: number): number {
  if (pid === undefined) return process.memoryUsage().rss;
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb * 1024;
}

/** Newest modification time (ms) of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Node arguments that run the clipdb CLI: the built binary when it is newer than every source file
 * (as after `npm run build`), else the source through tsx's loader. Either runs in one process, so
 * its pid is the server's (for RSS). `preferSource` always takes the source.
 */
export function cliCommand(preferSource = false): string[] {
  const built = path.join(ROOT, "dist/src/cli/main.js");
  if (!preferSource && existsSync(built) && statSync(built).mtimeMs >= newestSource(path.join(ROOT, "src"))) return [built];
  return ["--import", "tsx", path.join(ROOT, "src/cli/main.ts")];
}

/** A running `clipdb serve` child. */
export interface ServeChild {
  child: ChildProcess;
  base: string;
  port: number;
  /** Everything the server wrote to stderr so far. */
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * Starts `clipdb serve` with `args` on a free port (chosen by the server: --port 0 is not offered,
 * so a port is picked here) and waits until it prints its URL (bounded by `ms`).
 */
export async function startServe(args: string[], opts: { ms?: number; preferSource?: boolean } = {}): Promise<ServeChild> {
  const port = await freePort();
  const child = spawn(process.execPath, [...cliCommand(opts.preferSource), "serve", "--port", String(port), ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLIPDB_OFFLINE: "1" },
  });
  let log = "";
  child.stderr?.on("data", (c: Buffer) => (log += c.toString("utf8")));
  child.stdout?.on("data", (c: Buffer) => (log += c.toString("utf8")));
  const until = Date.now() + (opts.ms ?? 60_000);
  while (!log.includes("clipdb: serving")) {
    if (child.exitCode !== null) throw new Error(`clipdb serve exited (${child.exitCode}):\n${log}`);
    if (Date.now() > until) {
      child.kill("SIGKILL");
      throw new Error(`clipdb serve did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    port,
    base: `http://127.0.0.1:${port}`,
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export { freePort };

/** Waits until `cond()` is true, polling every `everyMs`, for at most `ms`; returns whether it became true. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
