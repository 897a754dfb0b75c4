import type { Command } from "commander";
import { common, int, withCollection } from "./common.js";

/** Registers `clipdb serve`. */
export function registerServe(program: Command): void {
  common(program.command("serve"), true)
    .description("serve the HTTP API and the web UI")
    .option("--host <host>", "address to listen on; not loopback requires --token", "127.0.0.1")
    .option("--port <n>", "port", int, 7860)
    .option("--token <token>", "Bearer token required for writes (also CLIPDB_TOKEN)")
    .action(async (f) => {
      const { serve } = await import("../server/index.js");
      let stop: () => void = () => {};
      const done = new Promise<void>((r) => (stop = r));
      await withCollection(f, true, async (col) => {
        const { url, close } = await serve({ col, host: f.host, port: f.port, token: f.token ?? process.env.CLIPDB_TOKEN });
        console.error(`clipdb serving ${col.dir} at ${url}`);
        const quit = () => void close().then(stop);
        process.once("SIGINT", quit);
        process.once("SIGTERM", quit);
        await done;
      });
    });
}
