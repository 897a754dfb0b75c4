/**
 * `npm run pg -- [--port 5499] [--dir ./.pg-data] [--host 127.0.0.1] [--max-connections 4] [--plain]`
 *
 * A development Postgres with pgvector: PGlite (Postgres in WASM) served on a TCP port by
 * pglite-socket, in the foreground until killed (Ctrl-C). Prints its connection string, e.g.
 * `postgres://postgres@127.0.0.1:5499/postgres` (any password is accepted, so it binds loopback
 * by default). Without --dir the database lives in memory and is gone when it stops. --plain
 * starts it without the vector extension (to see clipdb's error for such a database).
 */
import { parseArgs } from "node:util";
import { servePglite } from "./lib/pg-server.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "5499" },
    host: { type: "string", default: "127.0.0.1" },
    dir: { type: "string" },
    "max-connections": { type: "string", default: "4" },
    plain: { type: "boolean", default: false },
    "exit-with-parent": { type: "boolean", default: false },
  },
});

const server = await servePglite({
  port: Number(values.port),
  host: values.host,
  dir: values.dir,
  vector: !values.plain,
  maxConnections: Number(values["max-connections"]),
});
console.log(server.url);
if (process.stdout.isTTY) console.error(`PGlite${values.plain ? "" : " + pgvector"} ${values.dir ? `in ${values.dir}` : "in memory"}; Ctrl-C stops it.`);

let stopping = false;
const shutdown = (): void => {
  if (stopping) return;
  stopping = true;
  void server.stop().finally(() => process.exit(0));
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
// Started by startPgServer: exit when the parent goes away (its end of our stdin closes).
if (values["exit-with-parent"]) {
  process.stdin.on("end", shutdown).on("close", shutdown).resume();
}
