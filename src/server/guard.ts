import { isIP } from "node:net";
import type { FastifyReply, FastifyRequest } from "fastify";
import { ClipdbError } from "../core/errors.js";
import { isLoopback, requireToken } from "./auth.js";

/**
 * The server's defences against web pages and other clients, applied to every request before its
 * body is read (an onRequest hook), in this order:
 *
 * 1. **Host** (DNS rebinding): the `Host` header must name this server: localhost (and
 *    `*.localhost`), 127.0.0.1 (any 127.x), [::1], the host it is bound to, an IP address when it is
 *    bound to every interface (0.0.0.0 or ::), or an `allowedHosts` entry. Else 403 FORBIDDEN. The port
 *    in the header is not compared: rebinding needs a name the attacker controls, whatever the port,
 *    and SSH tunnels or port forwards (`ssh -L 8000:localhost:7860`) legitimately change it.
 * 2. **Origin** (CSRF): a write (any method but GET, HEAD, OPTIONS) whose `Origin`, or when absent
 *    its `Referer`, is present must come from the server's own origin (`http(s)://<Host>`) or an
 *    `allowedOrigins` entry (the Vite dev server). Else 403 FORBIDDEN. Clients that send neither
 *    (curl, scripts) pass: browsers always send `Origin` on cross-site writes.
 * 3. **Token**: writes need `Authorization: Bearer <token>` when a token is set; reads (GET and HEAD
 *    of the API, and both search routes) need it too when the server is exposed (not loopback) and
 *    `publicRead` is off. /api/v1/health, the web UI's files and /openapi.json stay open.
 */

/** The settings the guard works from. */
export interface GuardOptions {
  /** The host the server is bound to ("127.0.0.1", "0.0.0.0", "::", a name). */
  host: string;
  token: string | undefined;
  /** Extra Host names: "clipdb.example.com", ".example.com" (the domain and its subdomains), or "*" (no Host check). */
  allowedHosts: readonly string[];
  /** Extra origins allowed to write, e.g. "http://localhost:5173" (the Vite dev server). */
  allowedOrigins: readonly string[];
  /** Off loopback with a token: let reads through without it. */
  publicRead: boolean;
}

/** Lower-cased host name of a Host header, without port or IPv6 brackets; undefined when malformed. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  if (h === "") return undefined;
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return undefined;
    return h.slice(1, end);
  }
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(h);
  if (!m) return undefined;
  return m[1].replace(/\.$/, "");
}

const WILDCARD_BINDS = new Set(["", "0.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0"]);

/** Normalises an --allowed-origin entry to an origin ("http://localhost:5173"). */
export function normaliseOrigin(o: string): string {
  const trimmed = o.trim().replace(/\/+$/, "");
  try {
    const u = new URL(trimmed);
    if (u.origin === "null") throw new Error("opaque");
    return u.origin;
  } catch {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "allowed-origin", reason: `'${o}' is not an origin`, hint: "Give scheme, host and port, e.g. http://localhost:5173." });
  }
}

/** Checks an --allowed-host entry: a host name, ".domain", or "*". */
export function normaliseAllowedHost(h: string): string {
  const v = h.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (v === "*" || /^\.?[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?$/.test(v) || isIP(v) !== 0) return v.replace(/\.$/, "");
  throw new ClipdbError("INVALID_ARGUMENT", {
    name: "allowed-host",
    reason: `'${h}' is not a host name`,
    hint: "Give a name such as clipdb.example.com, .example.com for a domain and its subdomains, or an IP address; no scheme or port.",
  });
}

/** True when `name` (from a Host header) is a name this server answers to. */
export function isAllowedHost(name: string, opts: Pick<GuardOptions, "host" | "allowedHosts">): boolean {
  if (opts.allowedHosts.includes("*")) return true;
  if (isLoopback(name) || name === "localhost" || name.endsWith(".localhost")) return true;
  const bound = opts.host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (name === bound) return true;
  // Bound to every interface: any IP address is one of ours or unreachable; a DNS rebinding attack
  // needs a name, and names need --allowed-host.
  if (WILDCARD_BINDS.has(bound) && isIP(name) !== 0) return true;
  for (const entry of opts.allowedHosts) {
    if (entry === name) return true;
    if (entry.startsWith(".") && (name === entry.slice(1) || name.endsWith(entry))) return true;
  }
  return false;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const quote = (s: string): string => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);

/** What a route needs: nothing (health, UI files), read access, or write access. */
export type Access = "open" | "read" | "write";

/**
 * The access a request needs, from its matched route pattern (never from the raw URL, so encoded
 * paths such as `/%61pi/v1/stats` are judged by the route they reach).
 */
export function accessOf(method: string, routeUrl: string | undefined): Access {
  if (!routeUrl || !routeUrl.startsWith("/api/")) return "open";
  if (routeUrl === "/api/v1/health") return "open";
  if (SAFE_METHODS.has(method)) return "read";
  if (method === "POST" && (routeUrl === "/api/v1/search" || routeUrl === "/api/v1/search/image")) return "read";
  return "write";
}

/** Builds the onRequest check of Host, Origin and token for the given settings. */
export function makeGuard(opts: GuardOptions): (req: FastifyRequest, reply: FastifyReply) => void {
  const readsNeedToken = !!opts.token && !opts.publicRead && !isLoopback(opts.host);
  const allowedOrigins = new Set(opts.allowedOrigins);
  return (req) => {
    const host = req.headers.host;
    if (host === undefined) {
      // HTTP/1.1 requires Host (Node's own check answers an empty 400, so it is done here instead).
      if (req.raw.httpVersion === "1.1") throw new ClipdbError("INVALID_ARGUMENT", { name: "Host", reason: "the Host header is missing" });
    } else {
      const name = hostName(host);
      if (name === undefined || !isAllowedHost(name, opts)) {
        throw new ClipdbError("FORBIDDEN", {
          reason: `this server does not answer to Host ${quote(host)} (a protection against DNS rebinding)`,
          hint: `Open it by its own address, such as http://127.0.0.1 or http://localhost with its port, or start it with --allowed-host ${name ?? "<name>"}.`,
        });
      }
    }
    if (!SAFE_METHODS.has(req.method)) {
      const origin = requestOrigin(req);
      if (origin !== undefined && !(host !== undefined && (origin === `http://${host.toLowerCase()}` || origin === `https://${host.toLowerCase()}`)) && !allowedOrigins.has(origin)) {
        throw new ClipdbError("FORBIDDEN", {
          reason: `cross-origin write from ${quote(origin)} refused (a protection against cross-site request forgery)`,
          hint: "Writes are accepted from the server's own web UI, from clients that send no Origin (curl, scripts), and from origins given with --allowed-origin.",
        });
      }
    }
    const access = accessOf(req.method, req.routeOptions.url);
    if (access === "write" || (access === "read" && readsNeedToken)) requireToken(req, opts.token);
  };
}

/** The origin a request claims: its Origin header, else the origin of its Referer; undefined when neither. */
function requestOrigin(req: FastifyRequest): string | undefined {
  const origin = req.headers.origin;
  if (typeof origin === "string" && origin !== "") return origin.trim().toLowerCase();
  const referer = req.headers.referer;
  if (typeof referer === "string" && referer !== "") {
    try {
      return new URL(referer).origin.toLowerCase();
    } catch {
      return "null";
    }
  }
  return undefined;
}

/** Counts uploads in flight and refuses one beyond `max` with BUSY (503, Retry-After). */
export class UploadSlots {
  private inFlight = 0;

  constructor(
    readonly max: number,
    readonly retryAfterS: number,
  ) {}

  /** Uploads being received or processed now. */
  get active(): number {
    return this.inFlight;
  }

  /**
   * Takes a slot for this request until its response is done or its connection closes.
   *
   * @throws ClipdbError BUSY when all slots are taken
   */
  acquire(reply: FastifyReply): void {
    if (this.inFlight >= this.max) {
      throw new ClipdbError("BUSY", { reason: `${this.max} uploads are in progress, the most it accepts at once`, retryAfter: this.retryAfterS });
    }
    this.inFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.inFlight--;
    };
    // The response's "close" comes once it is sent, and also when the connection dies first.
    reply.raw.once("close", release);
  }
}
