import type { Command } from "commander";
import { ClipdbError } from "../core/errors.js";
import type { Collection } from "../collection/index.js";
import { common, int, print, withCollection } from "./common.js";
import { table } from "./output.js";

type Outcome = Awaited<ReturnType<Collection["adapt"]>>;

const f3 = (x: number) => x.toFixed(3);
const pts = (x: number) => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}`;

/** The human report of an adapt run. */
export function adaptTable(r: Outcome, dryRun: boolean): string {
  const lines: string[] = [];
  if (r.warning) lines.push(`note: ${r.warning}`);
  lines.push(`${r.pairs} pairs over ${r.images} images; ${r.heldOutImages} images (${(r.holdout * 100).toFixed(0)}%, seed ${r.seed}) and all their pairs held out, never trained on`);
  lines.push(
    table(
      ["direction", "train pairs", "held-out queries", "R@1", "R@5", "R@10", "ΔR@1 (95% CI), points", "kept"],
      r.directions.map((d) => [
        d.direction,
        d.trainPairs,
        d.heldOutQueries,
        `${f3(d.before["R@1"])} → ${f3(d.after["R@1"])}`,
        `${f3(d.before["R@5"])} → ${f3(d.after["R@5"])}`,
        `${f3(d.before["R@10"])} → ${f3(d.after["R@10"])}`,
        `${pts(d.r1Gain.delta)} (${pts(d.r1Gain.lo)} to ${pts(d.r1Gain.hi)})`,
        d.kept ? (dryRun ? "yes (dry run: not stored)" : "yes") : "no",
      ]),
    ),
  );
  for (const d of r.directions) lines.push(`${d.direction}: ${d.reason}`);
  lines.push(r.stored.length ? `stored: ${r.stored.join(", ")} (search applies it by default; --no-adapt turns it off)` : "stored nothing");
  return lines.join("\n");
}

function fraction(v: string): number {
  const x = Number(v);
  if (!(x > 0 && x < 1)) throw new ClipdbError("INVALID_ARGUMENT", { name: "holdout", reason: `must be a fraction between 0 and 1, got '${v}'` });
  return x;
}

/** Registers `clipdb adapt`. */
export function registerAdapt(program: Command): void {
  common(program.command("adapt"))
    .description("learn query adapters from the collection's image-caption pairs, kept only when they measurably help held-out pairs")
    .option("--holdout <fraction>", "fraction of the images (with all their captions) held out to measure before/after", "0.2")
    .option("--seed <n>", "seed of the held-out split", int, 1)
    .option("--directions <list>", "t2i,i2t", "t2i,i2t")
    .option("--rank <n>", "rank of the adapter (W = I + U V^T)", int, 32)
    .option("--dry-run", "measure only; store nothing")
    .option("--drop", "remove the stored adapters")
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        if (f.drop) {
          const gone = await col.dropAdapters();
          print(f, { dropped: gone }, () => (gone.length ? `dropped the ${gone.join(", ")} adapter` : "no adapter was stored"));
          return;
        }
        const dirs = String(f.directions).split(",");
        const bad = dirs.filter((d) => d !== "t2i" && d !== "i2t");
        if (bad.length || !dirs.length) throw new ClipdbError("INVALID_ARGUMENT", { name: "directions", reason: `'${bad.join(",")}' is not t2i or i2t` });
        const r = await col.adapt({ holdout: fraction(f.holdout), seed: f.seed, directions: dirs as ("t2i" | "i2t")[], rank: f.rank, dryRun: !!f.dryRun });
        const json = { ...r, directions: r.directions.map(({ adapter: _a, ...d }) => d), heldOut: undefined };
        print(f, json, () => adaptTable(r, !!f.dryRun));
      });
    });
}
