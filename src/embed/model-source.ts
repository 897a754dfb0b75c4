/**
 * Where a model comes from: a local folder, or a Hugging Face hub id cached under the cache
 * folder; and how transformers.js is pointed at it (cache folder, offline mode, mirror, timeouts).
 */
import { existsSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { env } from "@huggingface/transformers";
import { ClipdbError } from "../core/errors.js";

/** The default model: OpenAI CLIP ViT-B/32 converted to ONNX for transformers.js. */
export const DEFAULT_MODEL = "Xenova/clip-vit-base-patch32";

/** Default download timeout: no response or no new data for this long fails the download. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** A resolved model location. */
export interface ModelSource {
  /** What the user asked for. */
  model: string;
  /** The string given to transformers.js: an absolute folder, or the hub id. */
  ref: string;
  /** True for a local folder. */
  local: boolean;
  /** The folder searched: the local folder, or `<cacheDir>/<id>`. */
  searched: string;
}

/** The cache folder: `$CLIPDB_CACHE`, else `$XDG_CACHE_HOME/clipdb`, else `~/.cache/clipdb`. */
export function defaultCacheDir(): string {
  if (process.env.CLIPDB_CACHE) return path.resolve(process.env.CLIPDB_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "clipdb");
}

/** True when `CLIPDB_OFFLINE` is set to 1/true/yes. */
export function offlineFromEnv(): boolean {
  return /^(1|true|yes)$/i.test(process.env.CLIPDB_OFFLINE ?? "");
}

const HUB_ID = /^[\w.-]+\/[\w.-]+$|^[\w.-]+$/;

function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * Decides whether `model` is a local folder or a hub id. A string is a folder when it exists on
 * disk, or looks like a path (absolute, or starting with `.`, `~`, or containing a backslash or
 * more than one slash); otherwise it must be a hub id (`owner/name`).
 */
export function resolveModelSource(model: string, cacheDir: string): ModelSource {
  if (typeof model !== "string" || model.trim() === "") {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "model", reason: "the model must be a hub id like 'Xenova/clip-vit-base-patch32' or a folder path" });
  }
  const expanded = expandHome(model.trim());
  const looksLikePath =
    path.isAbsolute(expanded) || expanded.startsWith(".") || expanded.includes("\\") || expanded.split("/").length > 2;
  const abs = path.resolve(expanded);
  if (looksLikePath || (existsSync(abs) && statSync(abs).isDirectory())) {
    if (!existsSync(abs) || !statSync(abs).isDirectory()) {
      throw new ClipdbError("MODEL_UNAVAILABLE", { model, searched: abs, reason: "that folder does not exist" });
    }
    if (!existsSync(path.join(abs, "config.json"))) {
      throw new ClipdbError("MODEL_UNAVAILABLE", { model, searched: abs, reason: "the folder has no config.json, so it is not a transformers.js model folder" });
    }
    return { model, ref: abs, local: true, searched: abs };
  }
  if (!HUB_ID.test(expanded) || expanded.includes("..") || expanded.includes("--")) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: "model", reason: `'${model}' is neither an existing folder nor a hub id like 'owner/name'` });
  }
  return { model, ref: expanded, local: false, searched: path.join(cacheDir, expanded) };
}

/** Current network settings, read by the fetch wrapper (loads are serialised, see `withLoadLock`). */
const net = { timeoutMs: DEFAULT_TIMEOUT_MS };
let fetchWrapped = false;

/**
 * Wraps transformers.js's `env.fetch` once so that a request with no response, or a body that
 * stops delivering data, for `net.timeoutMs` is aborted instead of hanging.
 */
function installFetchTimeout(): void {
  if (fetchWrapped) return;
  fetchWrapped = true;
  const inner = env.fetch;
  env.fetch = async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const ctl = new AbortController();
    const ms = net.timeoutMs;
    let timer = setTimeout(() => ctl.abort(new Error(`no response from ${String(input)} within ${ms} ms`)), ms);
    let res: Response;
    try {
      res = await inner(input, { ...init, signal: ctl.signal });
    } catch (e) {
      clearTimeout(timer);
      throw e;
    }
    clearTimeout(timer);
    if (!res.body) return res;
    const reader = res.body.getReader();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        timer = setTimeout(() => ctl.abort(new Error(`download of ${String(input)} stalled for ${ms} ms`)), ms);
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (e) {
          controller.error(e);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

let lock: Promise<unknown> = Promise.resolve();

/**
 * Runs one model load with transformers.js's global settings (mirror, timeouts, local model
 * path) set for it. Loads are serialised because those settings are process-wide.
 */
export function withLoadLock<T>(settings: { remoteHost: string; timeoutMs: number; cacheDir: string }, fn: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    installFetchTimeout();
    net.timeoutMs = settings.timeoutMs;
    env.remoteHost = settings.remoteHost.endsWith("/") ? settings.remoteHost : `${settings.remoteHost}/`;
    env.allowLocalModels = true;
    env.allowRemoteModels = true; // per-load `local_files_only` decides offline mode
    env.localModelPath = settings.cacheDir;
    return fn();
  };
  const p = lock.then(run, run);
  lock = p.catch(() => undefined);
  return p;
}

/** Turns any load failure into MODEL_UNAVAILABLE naming the model, the folder searched and the reason. */
export function unavailable(src: ModelSource, e: unknown, offline: boolean): ClipdbError {
  if (e instanceof ClipdbError) return e;
  let reason = (e instanceof Error ? e.message : String(e)).replace(/\s+/g, " ").trim();
  const cause = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  if (cause instanceof Error && cause.message && !reason.includes(cause.message)) reason += ` (${cause.message})`;
  // transformers.js's own wording (local_files_only, env.allowRemoteModels, ...) stays in the cause, shown with --debug.
  if (offline && !src.local) reason = "offline mode is on and the model is not in the cache";
  return new ClipdbError("MODEL_UNAVAILABLE", { model: src.model, searched: src.searched, reason }, { cause: e });
}
