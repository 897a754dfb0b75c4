import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import { ClipdbError } from "../core/errors.js";
import { annNames, paramOf, rowsOf, type AdaptedEval, type EvalReport, type EvalRow } from "../collection/index.js";
import { common, int, print, withCollection } from "./common.js";
import { table } from "./output.js";
import { evalPlot } from "./plot.js";

function list(v: string): number[] {
  const xs = v.split(",").map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new ClipdbError("INVALID_ARGUMENT", { name: "list", reason: `'${v}' is not a comma-separated list of positive integers` });
  return xs;
}

function words<T extends string>(v: string, allowed: T[], name: string): T[] {
  const xs = v.split(",") as T[];
  const bad = xs.filter((x) => !allowed.includes(x));
  if (bad.length) throw new ClipdbError("INVALID_ARGUMENT", { name, reason: `'${bad.join(",")}' is not one of ${allowed.join(", ")}` });
  return xs;
}

function oneOf<T extends string>(v: string, allowed: readonly T[], name: string): T {
  if (!allowed.includes(v as T)) throw new ClipdbError("INVALID_ARGUMENT", { name, reason: `'${v}' is not one of ${allowed.join(", ")}` });
  return v as T;
}

/** The text table of an eval report: one row per index setting, per direction. */
export function evalTable(r: EvalReport): string {
  const out: string[] = [`${r.n_images} images, ${r.n_texts} texts, dim ${r.dim}`];
  for (const dir of ["t2i", "i2t"] as const) {
    const d = r[dir];
    if (!d) continue;
    const metricKeys = Object.keys(d.exact).filter((k) => k.startsWith("R@") || k.startsWith("hit@"));
    const rows: (string | number)[][] = [];
    const add = (name: string, param: string, e: EvalRow) =>
      rows.push([name, param, ...metricKeys.map((k) => e[k].toFixed(3)), e["recall_vs_exact@10"]?.toFixed(3) ?? "1.000", (e.scanned_frac?.toFixed(3) ?? "n/a"), e.ms_p50.toFixed(3), e.ms_p99.toFixed(3), e.speedup?.toFixed(1) ?? "1.0"]);
    add("exact", "", d.exact);
    for (const name of annNames()) {
      const key = paramOf(name)?.key;
      for (const e of rowsOf(d, name)) add(name, key && e[key] !== undefined ? `${key}=${e[key]}` : "", e);
    }
    out.push(`\n${dir} (${d.queries} queries)`, table(["index", "param", ...metricKeys, "vs_exact@10", "scanned", "p50_ms", "p99_ms", "speedup"], rows));
  }
  return out.join("\n");
}

/** The stored adapters' part of an eval: exact R@K without and with each, on all pairs and on the held-out ones. */
export function adapterEvalTable(rows: AdaptedEval[]): string {
  if (!rows.length) return "";
  const f3 = (x: number) => x.toFixed(3);
  const body = rows.flatMap((r) => [
    [r.direction, "all pairs (includes those it was trained on)", r.queries, ...(["R@1", "R@5", "R@10"] as const).map((k) => `${f3(r.without[k])} → ${f3(r.with[k])}`)],
    [r.direction, "held out when it was trained", r.heldOut.queries, ...(["R@1", "R@5", "R@10"] as const).map((k) => `${f3(r.heldOut.without[k])} → ${f3(r.heldOut.with[k])}`)],
  ]);
  return `\nstored query adapters, exact search without → with (search applies them by default)\n${table(["direction", "queries", "n", "R@1", "R@5", "R@10"], body)}`;
}

/** Registers `clipdb eval` and `clipdb index tune`. */
export function registerEval(program: Command, index: Command): void {
  common(program.command("eval"), false, true)
    .description("Recall@K, hit@k, latency and cost of exact, IVF and HNSW search on the collection's pairs")
    .option("--directions <list>", "t2i,i2t", "t2i,i2t")
    .option("--k <list>", "Recall@K cut-offs", "1,5,10")
    .option("--hit-k <list>", "hit@k cut-offs (the seed study's measure)", "1,10,100,1000")
    .option("--index <list>", `exact and index kinds (${annNames().join(", ")})`, "exact,ivf,hnsw")
    .option("--nprobe <list>", "IVF settings", "1,2,4,8,16,32")
    .option("--ef <list>", "HNSW settings", "16,32,64,128")
    .option("--limit <n>", "queries per direction (default all)", int)
    .option("--nlist <n>", "nlist of an IVF built for the run when none is built", int)
    .option("--spill <n>", "spill of an IVF built for the run when none is built", int)
    .option("--route <method>", "lists of an IVF built for the run: query (query-aware, the default with images and texts) or none")
    .option("--plot <file>", "write an SVG of recall against latency and cost")
    .option("--device <d>", "auto, cpu or cuda (eval scores stored vectors, so it never loads the model: accepted for scripts that pass it everywhere)")
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        const report = await col.evaluate(
          {
            directions: words(f.directions, ["t2i", "i2t"], "directions"),
            ks: list(f.k),
            hitKs: list(f.hitK),
            indexes: words(f.index, ["exact", ...annNames()], "index"),
            nprobes: list(f.nprobe),
            efs: list(f.ef),
            limit: f.limit,
          },
          { nlist: f.nlist, spill: f.spill, route: f.route === undefined ? undefined : oneOf(f.route, ["none", "query"] as const, "route") },
        );
        if (typeof f.json === "string") {
          writeFileSync(f.json, JSON.stringify(report, null, 2) + "\n");
          console.error(`clipdb: wrote the JSON report to ${f.json}`);
          f.json = false;
        }
        if (f.plot) {
          writeFileSync(f.plot, evalPlot(report));
          console.error(`clipdb: wrote the plot to ${f.plot}`);
        }
        print(f, report, () => [...report.notes.map((n) => `note: ${n}`), evalTable(report), adapterEvalTable(report.adapters)].filter(Boolean).join("\n"));
      });
    });
  common(index.command("tune"))
    .description("find the smallest nprobe / ef (on Postgres: ivfflat.probes / hnsw.ef_search) reaching a recall target against exact, and store them as defaults")
    .option("--target-recall <r>", "recall@10 against exact", "0.95")
    .option("--sample <n>", "held-out queries", int, 500)
    .action(async (f) => {
      await withCollection(f, false, async (col) => {
        const target = Number(f.targetRecall);
        if (!(target > 0 && target <= 1)) throw new ClipdbError("INVALID_ARGUMENT", { name: "target-recall", reason: "must be in (0, 1]" });
        const r = await col.tune(target, f.sample);
        print(f, { tuned: r }, () =>
          table(["index", "modality", "param", "value", "recall", "reached"], r.map((x) => [x.type, x.modality, x.setting ?? x.param, x.value, x.curve[x.curve.length - 1].recall.toFixed(3), x.reached ? "yes" : "no"])),
        );
      });
    });
}
