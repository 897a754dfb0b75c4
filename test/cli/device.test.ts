/** --device, CLIPDB_DEVICE and --dtype from the command line, on a machine without onnxruntime-node's CUDA provider. */
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cudaMissing } from "../../src/embed/device.js";
import { testModelDir } from "../fixtures/model.js";
import { clipdb } from "./helpers.js";

const tmp = mkdtempSync(join(tmpdir(), "clipdb-device-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const texts = join(tmp, "t.txt");
writeFileSync(texts, "a dog\na cat\n");

describe.runIf(cudaMissing() !== undefined)("clipdb --device without CUDA", () => {
  it("cuda fails naming what is missing and stores nothing; auto (flag or CLIPDB_DEVICE) notes the fallback and works", () => {
    const db = join(tmp, "a");
    const bad = clipdb(["add", "--db", db, "--texts", texts, "--model", testModelDir(), "--device", "cuda"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Device 'cuda' is not available: onnxruntime-node's CUDA provider is not installed .*ONNXRUNTIME_NODE_INSTALL=cuda12/);
    const env = clipdb(["add", "--db", db, "--texts", texts, "--model", testModelDir()], { CLIPDB_DEVICE: "cuda" });
    expect(env.stderr).toMatch(/Device 'cuda' is not available/);
    const auto = clipdb(["add", "--db", db, "--texts", texts, "--model", testModelDir(), "--json"], { CLIPDB_DEVICE: "auto" });
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stderr).toMatch(/^clipdb: note: CUDA is not available \(.*\); running on the CPU$/m);
    expect(auto.json.added).toBe(2);
    const cpu = clipdb(["search", "--db", db, "--text", "a dog", "--device", "cpu", "--json"]);
    expect(cpu.code, cpu.stderr).toBe(0);
    expect(cpu.stderr).not.toMatch(/note: CUDA/);
    expect(clipdb(["search", "--db", db, "--text", "a dog", "--device", "gpu"]).stderr).toMatch(/'gpu' is not one of auto, cpu, cuda/);
    expect(clipdb(["search", "--db", db, "--text", "a dog", "--dtype", "fp16"]).stderr).toMatch(/no fp16 weights/);
  }, 120_000);
});
