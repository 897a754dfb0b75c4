import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { CollectionApi } from "../collection/types.js";
import { buildServer, type ServerOptions } from "./app.js";

/** Options of serve(): the collection plus where to listen. */
export interface ServeOptions extends Omit<ServerOptions, "host"> {
  col: CollectionApi;
  /** Interface to listen on; default "127.0.0.1" (this machine only). Any other host needs `token`. */
  host?: string;
  /** TCP port; default 7860. 0 picks a free port (read it from the returned `port`). */
  port?: number;
}

/** A listening server. */
export interface ServeHandle {
  /** Base URL, e.g. "http://127.0.0.1:7860". */
  url: string;
  host: string;
  port: number;
  app: FastifyInstance;
  /** Stops listening and waits for in-flight requests; does not close the collection. */
  close(): Promise<void>;
}

/**
 * Builds the server and listens. Default 127.0.0.1:7860; refuses a non-loopback host without a token.
 *
 * @throws ClipdbError INVALID_ARGUMENT (exposure without token); the listen error (EADDRINUSE) as is
 */
export async function serve(opts: ServeOptions): Promise<ServeHandle> {
  const { col, host = "127.0.0.1", port = 7860, ...rest } = opts;
  const app = await buildServer(col, { ...rest, host });
  await app.listen({ host, port });
  const addr = app.server.address() as AddressInfo;
  const urlHost = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}`,
    host,
    port: addr.port,
    app,
    close: () => app.close(),
  };
}
