/**
 * Where inference runs: `cpu` (always available), `cuda` (onnxruntime-node's CUDA execution
 * provider, a separate install: .npmrc skips its download), or `auto` (CUDA when it loads, else the
 * CPU with a one-line note).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ClipdbError } from "../core/errors.js";

/** A requested device. */
export type DeviceChoice = "auto" | "cpu" | "cuda";
/** The device a model runs on. */
export type Device = "cpu" | "cuda";

/** Accepted device names. */
export const DEVICE_CHOICES: readonly DeviceChoice[] = ["auto", "cpu", "cuda"];

/** How to install the CUDA provider, for messages and the README. */
export const CUDA_INSTALL_HINT =
  "On a Linux x64 machine with an NVIDIA GPU, CUDA 12 and cuDNN 9, install onnxruntime-node's CUDA provider with " +
  "'ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install', or use --device cpu.";

/**
 * Checks a device name; undefined falls back to `$CLIPDB_DEVICE`, else `cpu` (so nothing changes
 * on machines without a GPU unless asked). INVALID_ARGUMENT for anything else.
 */
export function parseDevice(v: string | undefined, env = process.env.CLIPDB_DEVICE): DeviceChoice {
  const x = v ?? (env === "" ? undefined : env) ?? "cpu";
  if (!(DEVICE_CHOICES as readonly string[]).includes(x)) {
    throw new ClipdbError("INVALID_ARGUMENT", { name: v === undefined ? "CLIPDB_DEVICE" : "device", reason: `'${x}' is not auto, cpu or cuda` });
  }
  return x as DeviceChoice;
}

/** Files onnxruntime-node needs for CUDA, next to its native binding. */
const CUDA_FILES = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];

/**
 * Why CUDA cannot be used here before trying it, or undefined when its provider files are
 * installed (the GPU and CUDA libraries are only checked by creating a session).
 */
export function cudaMissing(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return `onnxruntime-node ships a CUDA provider for Linux x64 only (this is ${process.platform} ${process.arch})`;
  let dir: string;
  try {
    const require = createRequire(import.meta.url);
    dir = join(dirname(require.resolve("onnxruntime-node")), "..", "bin", "napi-v6", "linux", "x64");
  } catch {
    return "onnxruntime-node is not installed";
  }
  const missing = CUDA_FILES.filter((f) => !existsSync(join(dir, f)));
  return missing.length ? `onnxruntime-node's CUDA provider is not installed (${missing.join(" and ")} missing in ${dir})` : undefined;
}

/** The error for a `cuda` that cannot be used. */
export function cudaUnavailable(reason: string, cause?: unknown): ClipdbError {
  return new ClipdbError("DEVICE_UNAVAILABLE", { device: "cuda", reason, hint: CUDA_INSTALL_HINT }, { cause });
}
