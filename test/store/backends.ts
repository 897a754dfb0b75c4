/**
 * The two stores a store-level suite runs on: a SQLite folder, and a fresh schema on one PGlite
 * server over TCP (pool 1) per test file. `storeBackends` registers the file's hooks: the server is
 * started before all tests and stopped after, and every handle opened through a backend (or passed
 * to `track`) is closed after each test, with the temporary folders.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import type { CollectionStore } from "../../src/store/api.js";
import { PgCollectionStore } from "../../src/store/pg.js";
import { SqliteCollectionStore } from "../../src/store/sqlite-collection.js";
import { type PgServer, startPgServer } from "../../scripts/lib/pg-server.js";
import { cleanupTmp, tmpDir } from "./helpers.js";

/** One store kind: a new empty collection, and a way to open another handle on it. */
export interface Backend {
  name: "sqlite" | "postgres";
  fresh(): Promise<{ s: CollectionStore; again: () => Promise<CollectionStore> }>;
}

/** The backends of one test file, the PGlite server's URL, and `track` for handles opened by hand. */
export interface StoreBackends {
  backends: Backend[];
  pgUrl(): string;
  track(p: Promise<CollectionStore>): Promise<CollectionStore>;
}

/** Registers the file's hooks and returns its backends; Postgres schemas are named `<prefix>_<pid>_<n>`. */
export function storeBackends(prefix: string): StoreBackends {
  let server: PgServer | undefined;
  let schemas = 0;
  const handles: CollectionStore[] = [];
  const track = async (p: Promise<CollectionStore>): Promise<CollectionStore> => {
    const s = await p;
    handles.push(s);
    return s;
  };
  beforeAll(async () => {
    server = await startPgServer({ maxConnections: 4 });
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    for (const s of handles.splice(0)) await s.close();
    cleanupTmp();
  });
  const pgUrl = (): string => {
    if (!server) throw new Error("the PGlite server is not started (use pgUrl inside a test)");
    return server.url;
  };
  const backends: Backend[] = [
    {
      name: "sqlite",
      fresh: async () => {
        const dir = tmpDir();
        const again = (): Promise<CollectionStore> => track(SqliteCollectionStore.open(dir));
        return { s: await again(), again };
      },
    },
    {
      name: "postgres",
      fresh: async () => {
        const schema = `${prefix}_${process.pid}_${++schemas}`;
        const again = (): Promise<CollectionStore> => track(PgCollectionStore.open(pgUrl(), { schema, poolSize: 1 }));
        return { s: await again(), again };
      },
    },
  ];
  return { backends, pgUrl, track };
}
