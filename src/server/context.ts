import type { CollectionApi } from "../collection/types.js";

/** What every route needs: the open collection and the server's settings. */
export interface ServerContext {
  col: CollectionApi;
  /** Bearer token (writes always, reads too when exposed; see guard.ts); undefined: none (loopback only). */
  token: string | undefined;
  /** Largest accepted upload, in bytes. */
  uploadLimit: number;
  /** Server start time (ms since epoch), for /health. */
  startedAt: number;
}
