import { annNames, paramOf, rowsOf, type EvalReport, type EvalRow } from "../collection/index.js";

const W = 900;
const H = 360;
const PAD = { l: 56, r: 44, t: 36, b: 44 };
/** Exact in black, then one colour per registered kind, in auto order (HNSW blue, IVF red). */
const PALETTE = ["#2e86ab", "#d1495b", "#66a61e", "#e6ab02", "#7570b3"];
const colorOf = (name: string): string => (name === "exact" ? "#111" : (PALETTE[annNames().indexOf(name)] ?? "#555"));

interface Series {
  name: string;
  points: { x: number; y: number; label: string }[];
}

/** A label's box, estimated from its length (sans-serif at `size` px: about 0.6·size per character). */
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlaps = (a: Box, b: Box): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/**
 * Places point labels so that they overlap neither each other nor the points, and stay inside the
 * plot area [left, right]: for each label, the first free spot among right-above, right-below,
 * left-above, left-below, then further up or down. A label with no free spot is left out (the
 * point's tooltip still names it). Returns SVG text elements.
 */
export function placeLabels(points: { x: number; y: number; text: string; color: string }[], left: number, right: number, top: number, bottom: number): string {
  const size = 10;
  const placed: Box[] = points.map((p) => ({ x: p.x - 4, y: p.y - 4, w: 8, h: 8 }));
  const out: string[] = [];
  for (const p of points) {
    const w = p.text.length * size * 0.6;
    const spots: [number, number][] = [];
    for (const dy of [-6, 14, -18, 26, -30, 38]) for (const side of [1, -1]) spots.push([side > 0 ? p.x + 6 : p.x - 6 - w, p.y + dy]);
    const free = spots
      .map(([x, base]): Box => ({ x, y: base - size, w, h: size + 2 }))
      .find((b) => b.x >= left && b.x + b.w <= right && b.y >= top && b.y + b.h <= bottom && !placed.some((o) => overlaps(o, b)));
    if (!free) continue;
    placed.push(free);
    out.push(`<text x="${free.x.toFixed(1)}" y="${(free.y + size).toFixed(1)}" font-size="${size}" fill="${p.color}">${esc(p.text)}</text>`);
  }
  return out.join("\n");
}

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** One panel: recall@10 (y, 0..1) against x (log scale when `log`), one line per series. */
function panel(x0: number, width: number, title: string, xlabel: string, series: Series[], log: boolean): string {
  const xs = series.flatMap((s) => s.points.map((p) => p.x)).filter((x) => x > 0);
  let lo = Math.min(...xs);
  let hi = Math.max(...xs);
  if (!(hi > lo)) [lo, hi] = [lo * 0.5 || 0.001, hi * 2 || 1];
  const tx = log ? (x: number) => Math.log10(Math.max(x, lo)) : (x: number) => x;
  const [a, b] = [tx(lo), tx(hi)];
  const px = (x: number) => x0 + PAD.l + ((tx(x) - a) / (b - a || 1)) * (width - PAD.l - PAD.r);
  const py = (y: number) => PAD.t + (1 - y) * (H - PAD.t - PAD.b);
  const out: string[] = [`<text x="${x0 + width / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(title)}</text>`];
  for (const y of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    out.push(`<line x1="${x0 + PAD.l}" x2="${x0 + width - PAD.r}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 + PAD.l - 6}" y="${py(y) + 4}" text-anchor="end" font-size="11">${y}</text>`);
  }
  for (const t of [lo, Math.sqrt(lo * hi), hi]) out.push(`<text x="${px(t)}" y="${H - PAD.b + 16}" text-anchor="middle" font-size="11">${t < 0.1 ? t.toPrecision(2) : t.toFixed(2)}</text>`);
  out.push(`<text x="${x0 + width / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(xlabel)}</text>`);
  out.push(`<text transform="translate(${x0 + 14},${H / 2}) rotate(-90)" text-anchor="middle" font-size="12">recall@10 vs exact</text>`);
  const labels: { x: number; y: number; text: string; color: string }[] = [];
  series.forEach((s, i) => {
    const c = colorOf(s.name.split(" ")[0]);
    if (s.points.length > 1) out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${s.points.map((p) => `${px(p.x)},${py(p.y)}`).join(" ")}"/>`);
    for (const p of s.points) {
      out.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="4" fill="${c}"><title>${esc(`${s.name} ${p.label}: recall ${p.y}, ${p.x}`)}</title></circle>`);
      labels.push({ x: px(p.x), y: py(p.y), text: p.label, color: c });
    }
    // Legend: one swatch and name per series, along the top of the plot area.
    const lx = x0 + PAD.l + 8 + i * 70;
    out.push(`<circle cx="${lx}" cy="${PAD.t - 6}" r="4" fill="${c}"/><text x="${lx + 8}" y="${PAD.t - 2}" font-size="11">${esc(s.name)}</text>`);
  });
  out.push(placeLabels(labels, x0 + PAD.l, x0 + width - 4, PAD.t, H - PAD.b));
  return out.join("\n");
}

/**
 * Renders an SVG of recall@10 against exact, per direction: against p50 latency (log scale), with
 * exact as a reference point, and for IVF against the fraction of vectors scanned (the cost).
 */
export function evalPlot(report: EvalReport): string {
  const dirs = (["t2i", "i2t"] as const).filter((d) => report[d]);
  const panels: string[] = [];
  const width = W / 2;
  dirs.forEach((d, row) => {
    const r = report[d]!;
    const line = (name: string, rows: EvalRow[], key: string, x: string): Series => ({
      name,
      points: rows.map((e) => ({ x: e[x], y: e["recall_vs_exact@10"], label: `${key}=${e[key]}` })),
    });
    const latency: Series[] = [
      { name: "exact", points: [{ x: r.exact.ms_p50, y: 1, label: "exact" }] },
      ...annNames().map((name) => line(name, rowsOf(r, name), paramOf(name)?.key ?? "", "ms_p50")),
    ];
    // Cost is the fraction scanned, which only kinds that scan lists report (not a graph search).
    const scanning = annNames().filter((name) => rowsOf(r, name).some((e) => e.scanned_frac !== undefined));
    const cost: Series[] = [{ name: "exact", points: [{ x: 1, y: 1, label: "exact" }] }, ...scanning.map((name) => line(name, rowsOf(r, name), paramOf(name)?.key ?? "", "scanned_frac"))];
    panels.push(`<g transform="translate(0,${row * H})">${panel(0, width, `${d}: recall vs latency`, "p50 latency, ms (log)", latency, true)}${panel(width, width, `${d}: recall vs cost`, "fraction of vectors scanned (log)", cost, true)}</g>`);
  });
  const h = H * dirs.length;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${panels.join("\n")}</svg>\n`;
}
