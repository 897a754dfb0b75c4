/**
 * What only the Postgres store has: connection strings (redacted, schema), unreachable servers,
 * a database without pgvector, Postgres's limits, and a server that goes away. Two PGlite
 * servers in child processes: one with the vector extension, one without.
 */
import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClipdbError } from "../../src/core/errors.js";
import { PgCollectionStore } from "../../src/store/pg.js";
import { parsePgUrl } from "../../src/store/pg-url.js";
import { type PgServer, startPgServer } from "../../scripts/lib/pg-server.js";
import { vectorsFor } from "./fixtures/gen.js";
import { item } from "./helpers.js";

const SECRET = "s3cr3t-Pa55";
let withVector: PgServer & { pid: number };
let plain: PgServer;

/** The server's url with a user and password (PGlite accepts any). */
const withPassword = (url: string, password = SECRET): string => url.replace("postgres://postgres@", `postgres://postgres:${encodeURIComponent(password)}@`);

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** The rejection of `p`, which must be a ClipdbError. */
async function failure(p: Promise<unknown>): Promise<ClipdbError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ClipdbError);
  return e as ClipdbError;
}

/** Everything an error shows: message, details, cause. */
const shown = (e: ClipdbError): string => `${e.message} ${JSON.stringify(e.details)} ${String((e.cause as Error | undefined)?.message)} ${e.stack}`;

beforeAll(async () => {
  [withVector, plain] = await Promise.all([startPgServer(), startPgServer({ vector: false })]);
});

afterAll(async () => {
  await Promise.all([withVector?.stop(), plain?.stop()]);
});

describe("connection strings", () => {
  it("redact the password (in the userinfo and as a parameter) and carry the schema", () => {
    const t = parsePgUrl("postgres://bob:p%40ss@db.example:6543/photos?schema=coco&sslmode=require");
    expect(t).toMatchObject({ schema: "coco", host: "db.example", port: 6543, location: "postgres://bob:***@db.example:6543/photos?sslmode=require&schema=coco" });
    expect(t.connectionString).toBe("postgres://bob:p%40ss@db.example:6543/photos?sslmode=require");
    expect(t.secrets).toContain("p@ss");
    expect(parsePgUrl("postgresql://h/db?password=zz").location).toBe("postgresql://h/db?password=***");
    expect(parsePgUrl("postgres://h/db").location).toBe("postgres://h/db");
    expect(parsePgUrl("postgres://h/db", "other").schema).toBe("other");
  });

  it("refuse what is not a postgres:// URL or a plain schema name, without echoing it", async () => {
    for (const bad of ["not a url s3cr3t", "mysql://u:s3cr3t@h/db"]) {
      const e = await failure(PgCollectionStore.open(bad));
      expect(e.code).toBe("INVALID_ARGUMENT");
      expect(e.message).not.toContain("s3cr3t");
    }
    await expect(PgCollectionStore.open("postgres://h/db?schema=Bad-Name")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("an unusable server", () => {
  it("unreachable: STORE_UNAVAILABLE naming host, port and the fix, never the password", async () => {
    const port = await closedPort();
    const e = await failure(PgCollectionStore.open(`postgres://clip:${SECRET}@127.0.0.1:${port}/postgres`, { poolSize: 1 }));
    expect(e.code).toBe("STORE_UNAVAILABLE");
    expect(e.kind).toBe("user");
    expect(e.message).toContain(`127.0.0.1:${port}`);
    expect(e.message).toContain("refused");
    expect(e.message).toContain("npm run pg");
    expect(e.message).toContain(`postgres://clip:***@127.0.0.1:${port}/postgres`);
    expect(shown(e)).not.toContain(SECRET);
  });

  it("silent (accepts TCP, never answers): STORE_UNAVAILABLE after connectTimeoutMs", async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const e = await failure(PgCollectionStore.open(`postgres://clip:${SECRET}@127.0.0.1:${port}/postgres`, { poolSize: 1, connectTimeoutMs: 300 }));
      expect(e.code).toBe("STORE_UNAVAILABLE");
      expect(e.message).toContain("timed out");
      expect(shown(e)).not.toContain(SECRET);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it("without pgvector: STORE_UNAVAILABLE saying CREATE EXTENSION vector", async () => {
    const e = await failure(PgCollectionStore.open(withPassword(plain.url), { poolSize: 1, schema: "novec" }));
    expect(e.code).toBe("STORE_UNAVAILABLE");
    expect(e.message).toContain("pgvector");
    expect(e.message).toContain("CREATE EXTENSION vector");
    expect(shown(e)).not.toContain(SECRET);
  });
});

describe("on a server with pgvector", () => {
  it("shows its location without the password, and keeps collections apart by schema", async () => {
    const a = await PgCollectionStore.open(withPassword(withVector.url), { poolSize: 1, schema: "loc_a" });
    const b = await PgCollectionStore.open(`${withPassword(withVector.url)}?schema=loc_b`, { poolSize: 1 });
    try {
      expect(a.location).toBe(`${withVector.url.replace("postgres@", "postgres:***@")}?schema=loc_a`);
      expect(a.location).not.toContain(SECRET);
      await a.setModel("m", 4);
      await a.addItems([item("x", "image")], vectorsFor(["x"], 4));
      expect(await b.model()).toBeNull();
      expect((await b.counts()).images).toBe(0);
      expect((await a.counts()).images).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("refuses a schema that holds other tables, and a missing one when create is false", async () => {
    const c = new pg.Client({ connectionString: withVector.url });
    await c.connect();
    try {
      await c.query("CREATE SCHEMA foreign_one; CREATE TABLE foreign_one.items (x int)");
    } finally {
      await c.end();
    }
    await expect(PgCollectionStore.open(withVector.url, { poolSize: 1, schema: "foreign_one" })).rejects.toMatchObject({ code: "STORE_CORRUPT" });
    await expect(PgCollectionStore.open(withVector.url, { poolSize: 1, schema: "never_made", create: false })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("states Postgres's limits: at most 16000 dimensions, no NUL characters", async () => {
    const s = await PgCollectionStore.open(withVector.url, { poolSize: 1, schema: "limits" });
    try {
      await expect(s.setModel("m", 16001)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await s.setModel("m", 4);
      await expect(s.addItems([item("a\u0000b", "image")], vectorsFor(["a"], 4))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      await expect(s.addItems([item("a", "image", { meta: { k: "x\u0000" } })], vectorsFor(["a"], 4))).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
      expect((await s.counts()).images).toBe(0);
    } finally {
      await s.close();
    }
  });

  it("passes a transaction's own errors through unchanged, whatever they say", async () => {
    const s = await PgCollectionStore.open(withVector.url, { poolSize: 1, schema: "own_errors" });
    try {
      const mine = new Error("Connection terminated: timeout expired (not the driver's)");
      await expect(s.transaction(async () => Promise.reject(mine))).rejects.toBe(mine);
      expect(await s.generation()).toBe(0);
    } finally {
      await s.close();
    }
  });

  it("gives STORE_UNAVAILABLE, not a hang or a crash, when the server goes away inside a transaction", async () => {
    const s = await PgCollectionStore.open(withPassword(withVector.url), { poolSize: 1, schema: "gone", connectTimeoutMs: 2000 });
    await s.setModel("m", 4);
    const e = await failure(
      s.transaction(async (w) => {
        await w.addItems([item("a", "image")], vectorsFor(["a"], 4));
        await withVector.stop();
        return w.counts();
      }),
    );
    expect(e.code).toBe("STORE_UNAVAILABLE");
    expect(shown(e)).not.toContain(SECRET);
    const again = await failure(s.generation()); // the pool connects anew, and is refused
    expect(again.code).toBe("STORE_UNAVAILABLE");
    expect(again.message).toContain("refused");
    await s.close();
  });
});
