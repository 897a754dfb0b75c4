import { existsSync } from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import { Collection, type OpenOptions } from "../collection/index.js";
import { ClipdbError } from "../core/errors.js";
import { EXIT, reportError } from "./output.js";

/** Flags every command takes. */
export interface CommonFlags {
  db: string;
  json?: boolean;
  debug?: boolean;
  model?: string;
  offline?: boolean;
  threads?: number;
  device?: string;
  dtype?: string;
  shrinkOnLoad?: boolean;
  inferBatch?: number;
}

/** Parses a positive integer flag (commander argParser). */
export function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/**
 * Adds --db (default `db`: $CLIPDB_DIR, else ./clipdb-data), --json, --debug (and, when asked,
 * --model/--offline/--threads) to a command.
 * With `jsonFile`, --json takes an optional file: the JSON goes there and the text table to stdout.
 */
export function common(cmd: Command, withModel = false, jsonFile = false, db = process.env.CLIPDB_DIR ?? "./clipdb-data"): Command {
  cmd
    .option("--db <dir|url>", "collection folder, or a postgres:// URL ($CLIPDB_DIR sets the default)", db)
    .option(jsonFile ? "--json [file]" : "--json", jsonFile ? "write the JSON report to a file (or print it to stdout when no file is given)" : "machine-readable output on stdout")
    .option("--debug", "print stack traces");
  if (withModel) {
    cmd
      .option("--model <id|folder>", "embedding model: a hub id or a local folder (default: the collection's, else Xenova/clip-vit-base-patch32)")
      .option("--offline", "never touch the network (also CLIPDB_OFFLINE=1)")
      .option("--threads <n>", "inference threads", int)
      .option("--device <d>", "where the model runs: auto (CUDA when it loads, else the CPU), cpu or cuda (default $CLIPDB_DEVICE, else cpu)")
      .option("--dtype <t>", "model weights: fp32, fp16 or q8 (needs the model folder's *_fp16.onnx / *_quantized.onnx files)")
      .option("--shrink-on-load", "let libjpeg decode large JPEGs at 1/2, 1/4 or 1/8 scale before the exact resize (default off: full decode, the model processor's exact tensor)")
      .option("--infer-batch <n>", "images or texts per inference run (default 16 on the CPU, 64 on CUDA)", int);
  }
  return cmd;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  if (!allowed.includes(v as T)) throw new ClipdbError("INVALID_ARGUMENT", { name, reason: `'${v}' is not one of ${allowed.join(", ")}` });
  return v as T;
}

/** Opens the collection named by the flags. */
export function openCollection(f: CommonFlags, create = false): Promise<Collection> {
  const opts: OpenOptions = {
    model: f.model,
    offline: f.offline,
    threads: f.threads,
    create,
    device: f.device === undefined ? undefined : oneOf(f.device, ["auto", "cpu", "cuda"] as const, "device"),
    dtype: f.dtype === undefined ? undefined : oneOf(f.dtype, ["fp32", "fp16", "q8"] as const, "dtype"),
    preprocess: f.shrinkOnLoad ? "shrink" : undefined,
    inferBatch: f.inferBatch,
    onNote: (m) => process.stderr.write(`clipdb: note: ${m}\n`),
  };
  if (!f.json && process.stderr.isTTY) {
    const seen = new Set<string>();
    // A local model folder is read, not downloaded: say so.
    const [doing, done] = f.model && existsSync(f.model) ? ["loading", "loaded"] : ["downloading", "downloaded"];
    opts.onModelProgress = (p) => {
      if (p.status === "progress" && p.total) process.stderr.write(`\r${doing} ${p.file}: ${((100 * p.loaded) / p.total).toFixed(0)}%   `);
      if (p.status === "done" && !seen.has(p.file)) {
        seen.add(p.file);
        process.stderr.write(`\r${done} ${p.file}${" ".repeat(20)}\n`);
      }
    };
  }
  return Collection.open(f.db, opts);
}

/** Runs an action with an open collection, mapping errors to one-line messages and exit codes. */
export async function withCollection(f: CommonFlags, create: boolean, fn: (col: Collection) => Promise<number | void>): Promise<void> {
  let col: Collection | undefined;
  try {
    col = await openCollection(f, create);
    process.exitCode = (await fn(col)) ?? EXIT.ok;
  } catch (e) {
    process.exitCode = reportError(e, !!f.debug);
  } finally {
    await col?.close().catch((e) => (process.exitCode = reportError(e, !!f.debug)));
  }
}

/** Prints JSON or text. */
export function print(f: CommonFlags, json: unknown, text: () => string): void {
  console.log(f.json ? JSON.stringify(json, null, 2) : text());
}

