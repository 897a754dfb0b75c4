import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clipdb, DATA } from "./helpers.js";

const F30K = join(DATA, "flickr30k-clip-l14-500");
let tmp: string;
let db: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "clipdb-tune-cli-"));
  db = join(tmp, "db");
  const ids = Array.from({ length: 500 }, (_, i) => `img${i}`);
  writeFileSync(join(tmp, "img.txt"), ids.join("\n") + "\n");
  writeFileSync(join(tmp, "txt.txt"), ids.map((_, i) => `txt${i}`).join("\n") + "\n");
  const add = (file: string, idFile: string, modality: string, extra: string[] = []) =>
    expect(clipdb(["add", "--vectors", join(F30K, file), "--ids", join(tmp, idFile), "--modality", modality, "--model-id", "openai/clip-vit-large-patch14", ...extra, "--db", db]).code).toBe(0);
  add("image.npy", "img.txt", "image");
  add("text.npy", "txt.txt", "text", ["--pair-ids", join(tmp, "img.txt")]);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("clipdb index build --route and index tune --target-recall", () => {
  it("builds query-aware lists by default, tunes nprobe, and search uses it unless overridden", () => {
    const b = clipdb(["index", "build", "--type", "ivf", "--nlist", "16", "--db", db, "--json"]);
    expect(b.code).toBe(0);
    expect(b.json.built.map((x: any) => x.spec)).toEqual(["IVF16,Flat,route=query", "IVF16,Flat,route=query"]);
    const bad = clipdb(["index", "build", "--type", "ivf", "--route", "paired", "--db", db, "--json"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/route/);
    const t = clipdb(["index", "tune", "--target-recall", "0.9", "--sample", "200", "--db", db, "--json"]);
    expect(t.code).toBe(0);
    const ivf = t.json.tuned.filter((x: any) => x.type === "ivf");
    expect(ivf.every((x: any) => x.reached)).toBe(true);
    const nprobe = Math.max(...ivf.map((x: any) => x.value));
    expect(nprobe).toBeGreaterThan(1);
    const search = (extra: string[]) => clipdb(["search", "--item", "txt3", "--modality", "image", "--index", "ivf", "--k", "10", ...extra, "--db", db, "--json"]).json;
    const byDefault = search([]);
    const explicit = search(["--nprobe", String(nprobe)]);
    const one = search(["--nprobe", "1"]);
    expect(byDefault.scanned).toBe(explicit.scanned);
    expect(byDefault.results.map((r: any) => r.id)).toEqual(explicit.results.map((r: any) => r.id));
    expect(one.scanned).toBeLessThan(byDefault.scanned);
  });
});
