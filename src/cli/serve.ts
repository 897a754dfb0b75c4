import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError, type Command } from "commander";
import { ClipdbError, isClipdbError } from "../core/errors.js";
import type { Collection } from "../collection/index.js";
import type { LogLevel } from "../server/index.js";
import { runAdd, formatSummary } from "./add.js";
import { common, int, withCollection, type CommonFlags } from "./common.js";

/** The folder holding clipdb's package.json, found by walking up from this file (works from dist/ and from source). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The sample collection shipped with clipdb (examples/sample), served by `clipdb demo` / `npm start`. */
export const SAMPLE_DIR = join(packageRoot(), "examples", "sample");

interface ServeFlags extends CommonFlags {
  host: string;
  port: number;
  token?: string;
  allowedHost: string[];
  allowedOrigin: string[];
  publicRead?: boolean;
  maxUploads: number;
  requestTimeout: number;
  logLevel: string;
}

const LOG_LEVELS = ["silent", "error", "warn", "info", "debug"];

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function logLevel(v: string): string {
  if (!LOG_LEVELS.includes(v)) throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(", ")}`);
  return v;
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option("--host <host>", "address to listen on; not loopback requires --token", "127.0.0.1")
    .option("--port <n>", "port", int, 7860)
    .option("--token <token>", "Bearer token: required for writes, and off loopback for reads too (also CLIPDB_TOKEN)")
    .option("--public-read", "off loopback with --token: let searches and other reads through without the token")
    .option("--allowed-host <name>", "also answer to this Host name (repeatable; '.example.com' for a domain and its subdomains)", collect, [])
    .option("--allowed-origin <origin>", "also accept writes from this origin, e.g. http://localhost:5173 (repeatable)", collect, [])
    .option("--max-uploads <n>", "uploads received or processed at once; more get 503 with Retry-After", int, 8)
    .option("--request-timeout <s>", "seconds to receive a whole request (headers and body); slower ones get 408", int, 60)
    .option("--log-level <level>", "stderr log: error and warn lines always; info adds one line per request", logLevel, "warn");
}

/** Serves a collection until SIGINT or SIGTERM. */
async function serveUntilStopped(col: Collection, f: ServeFlags): Promise<void> {
  const { serve, isLoopback } = await import("../server/index.js");
  // Load the model in the background so the first text or image query does not wait for it;
  // collections without a usable model (imported vectors) simply answer item and vector queries.
  if (col.modelId) void col.embedder().catch(() => undefined);
  const token = f.token ?? process.env.CLIPDB_TOKEN;
  const { url, close } = await serve({
    col,
    host: f.host,
    port: f.port,
    token,
    publicRead: f.publicRead,
    allowedHosts: f.allowedHost,
    allowedOrigins: f.allowedOrigin,
    maxUploads: f.maxUploads,
    requestTimeoutMs: f.requestTimeout * 1000,
    logLevel: f.logLevel as LogLevel,
  });
  console.error(`clipdb: serving ${col.dir} at ${url}  (Ctrl-C to stop)`);
  if (token && !isLoopback(f.host)) {
    console.error(`clipdb: exposed on ${f.host}: ${f.publicRead ? "writes need" : "reads and writes need"} the token; the web UI asks for it`);
  }
  await new Promise<void>((resolve) => {
    const quit = () => void close().then(resolve);
    process.once("SIGINT", quit);
    process.once("SIGTERM", quit);
  });
}

/** Registers `clipdb serve` and `clipdb demo`. */
export function registerServe(program: Command): void {
  serveOptions(common(program.command("serve"), true))
    .description("serve the HTTP API and the web UI over a collection")
    .option("--create", "create the collection when --db names none (default: refuse, as search and stats do)")
    .action(async (f: ServeFlags & { create?: boolean }) => {
      await withCollection(f, !!f.create, (col) => serveUntilStopped(col, f));
    });

  serveOptions(common(program.command("demo"), true, false, process.env.CLIPDB_DIR ?? "./.clipdb-sample"))
    .description("serve the shipped sample collection (what `npm start` runs); embeds it on first start")
    .action(async (f: ServeFlags) => {
      await withCollection(f, true, async (col) => {
        if ((await col.stats()).images === 0) {
          if (!existsSync(SAMPLE_DIR)) throw new ClipdbError("INTERNAL", { reason: `the sample collection is missing at ${SAMPLE_DIR}; reinstall clipdb` });
          console.error(`clipdb: first start: embedding the sample collection into ${col.dir} ...`);
          try {
            const { summary } = await runAdd(col, [`${SAMPLE_DIR}/images`], { captions: `${SAMPLE_DIR}/captions.json` }, new AbortController().signal);
            console.error(formatSummary(summary));
          } catch (e) {
            if (isClipdbError(e, "MODEL_UNAVAILABLE")) {
              console.error(
                "clipdb: the default CLIP model could not be loaded, so the sample cannot be embedded.\n" +
                  "  On a machine with internet access it is downloaded once into the cache.\n" +
                  "  Offline, point at a local model folder:   npm start -- --model /path/to/clip-model\n" +
                  "  or generate the small test model:         npm run make-test-model -- --out models/test && npm start -- --model models/test",
              );
            }
            throw e;
          }
        }
        await serveUntilStopped(col, f);
      });
    });
}
