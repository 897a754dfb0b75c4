import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { FastifyRequest } from "fastify";
import { ClipdbError } from "../core/errors.js";

/**
 * True when `host` only accepts connections from this machine: "localhost", 127.0.0.0/8, ::1
 * (and ::ffff:127.x). "0.0.0.0", "::" and every other name or address count as public.
 */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h === "::1") return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * Refuses a configuration that would expose writes: a host that is not loopback needs a token.
 *
 * @throws ClipdbError INVALID_ARGUMENT naming --token
 */
export function checkExposure(host: string, token: string | undefined): void {
  if (token !== undefined && token.trim() === "") {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "token", reason: "the token is empty" });
  }
  if (!isLoopback(host) && !token) {
    throw new ClipdbError("INVALID_ARGUMENT", {
      name: "host",
      reason: `'${host}' is not a loopback address, and no token is set`,
      hint: "Writes would be open to the network: pass --token <secret> (clients then send 'Authorization: Bearer <secret>'), or serve on 127.0.0.1.",
    });
  }
}

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/**
 * Checks `Authorization: Bearer <token>` in constant time. No token configured: everything passes.
 *
 * @throws ClipdbError UNAUTHORIZED when the header is missing or wrong
 */
export function requireToken(req: FastifyRequest, token: string | undefined): void {
  if (!token) return;
  const header = req.headers.authorization ?? "";
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!m || !timingSafeEqual(digest(m[1]), digest(token))) {
    throw new ClipdbError("UNAUTHORIZED", m ? { rejected: true } : { what: "this request" });
  }
}
