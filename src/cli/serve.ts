import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { isClipdbError } from "../core/errors.js";
import type { Collection } from "../collection/index.js";
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
}

function serveOptions(cmd: Command): Command {
  return cmd
    .option("--host <host>", "address to listen on; not loopback requires --token", "127.0.0.1")
    .option("--port <n>", "port", int, 7860)
    .option("--token <token>", "Bearer token required for writes (also CLIPDB_TOKEN)");
}

/** Serves a collection until SIGINT or SIGTERM. */
async function serveUntilStopped(col: Collection, f: ServeFlags): Promise<void> {
  const { serve } = await import("../server/index.js");
  // Load the model in the background so the first text or image query does not wait for it;
  // collections without a usable model (imported vectors) simply answer item and vector queries.
  if (col.modelId) void col.embedder().catch(() => undefined);
  const { url, close } = await serve({ col, host: f.host, port: f.port, token: f.token ?? process.env.CLIPDB_TOKEN });
  console.error(`clipdb: serving ${col.dir} at ${url}  (Ctrl-C to stop)`);
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
    .action(async (f: ServeFlags) => {
      await withCollection(f, true, (col) => serveUntilStopped(col, f));
    });

  serveOptions(common(program.command("demo"), true))
    .description("serve the shipped sample collection (what `npm start` runs); embeds it on first start")
    .action(async (f: ServeFlags) => {
      if (f.db === (process.env.CLIPDB_DIR ?? "./clipdb-data")) f.db = "./.clipdb-sample";
      await withCollection(f, true, async (col) => {
        if ((await col.stats()).images === 0) {
          if (!existsSync(SAMPLE_DIR)) throw new Error(`the sample collection is missing at ${SAMPLE_DIR}`);
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
