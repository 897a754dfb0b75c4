/**
 * Query arithmetic in the UI: "+" and "−" chips added to the current query (a text, an uploaded
 * image, or a result's "more like this" / "less like this"), each with a weight, and a line that
 * shows the combined query. The server combines them: q = normalize(e + Σ w·e_plus − Σ w·e_minus).
 */
import { api, setImageSrc, thumbUrl, type QueryTerm, type SearchOptions, type SearchResponse, type UploadRole } from "./api.js";
import { h, shortName } from "./dom.js";

/** One chip. `image` terms are uploads (at most one per search: the API takes one upload). */
export type Term =
  | { sign: 1 | -1; weight: number; kind: "text"; text: string }
  | { sign: 1 | -1; weight: number; kind: "item"; id: string; label: string; thumbId?: string }
  | { sign: 1 | -1; weight: number; kind: "image"; file: Blob; url: string; name: string };

/** Weights a chip cycles through when its weight is clicked. */
const WEIGHTS = [1, 2, 0.5];

/** The chips of the current query, and their rendering into `root`. */
export class Chips {
  private terms: Term[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly onChange: () => void,
  ) {}

  /** The chips, in the order they were added. */
  list(): readonly Term[] {
    return this.terms;
  }

  /** The uploaded image chip, if any. */
  image(): Extract<Term, { kind: "image" }> | undefined {
    return this.terms.find((t): t is Extract<Term, { kind: "image" }> => t.kind === "image");
  }

  /** Adds a chip (replacing an earlier upload, and an earlier chip of the same item) and re-runs. */
  add(t: Term): void {
    if (t.kind === "image") this.removeWhere((x) => x.kind === "image");
    if (t.kind === "item") this.removeWhere((x) => x.kind === "item" && x.id === t.id);
    this.terms.push(t);
    this.render();
    this.onChange();
  }

  /** Replaces the chips without re-running (restoring them from the URL). */
  set(terms: Term[]): void {
    this.removeWhere(() => true);
    this.terms = terms.slice(0, 16);
    this.render();
  }

  /** Removes every chip, without re-running. */
  clear(): void {
    this.removeWhere(() => true);
    this.render();
  }

  private removeWhere(pred: (t: Term) => boolean): void {
    for (const t of this.terms) if (pred(t) && t.kind === "image") URL.revokeObjectURL(t.url);
    this.terms = this.terms.filter((t) => !pred(t));
  }

  /** The JSON plus and minus terms (texts and items; the upload travels apart). */
  json(): { plus?: QueryTerm[]; minus?: QueryTerm[] } {
    const out: { plus?: QueryTerm[]; minus?: QueryTerm[] } = {};
    for (const t of this.terms) {
      if (t.kind === "image") continue;
      const term: QueryTerm = t.kind === "text" ? { text: t.text } : { item: t.id };
      if (t.weight !== 1) term.weight = t.weight;
      (t.sign > 0 ? (out.plus ??= []) : (out.minus ??= [])).push(term);
    }
    return out;
  }

  /** How a chip reads in the combined query line. */
  static describe(t: Term): string {
    const w = t.weight === 1 ? "" : `${t.weight}×`;
    const what = t.kind === "text" ? `“${t.text}”` : t.kind === "item" ? t.label : t.name;
    return `${w}${what}`;
  }

  /** Renders the chips, or hides the row when there are none. */
  render(): void {
    this.root.hidden = this.terms.length === 0;
    this.root.replaceChildren(
      ...this.terms.map((t, i) => {
        const sign = t.sign > 0 ? "+" : "−";
        const pic = t.kind === "image" ? h("img", { src: t.url, alt: "" }) : t.kind === "item" && t.thumbId ? h("img", { alt: "" }) : null;
        if (pic && t.kind === "item" && t.thumbId) setImageSrc(pic as HTMLImageElement, thumbUrl(t.thumbId));
        pic?.addEventListener("error", () => pic.remove(), { once: true });
        const label = t.kind === "text" ? `“${t.text}”` : t.kind === "item" ? t.label : t.name;
        return h(
          "span",
          { class: `term-chip ${t.sign > 0 ? "term-plus" : "term-minus"}`, "data-kind": t.kind, "data-sign": sign },
          h("span", { class: "term-sign", "aria-hidden": "true" }, sign),
          pic,
          h("span", { class: "term-label", title: label }, label),
          h(
            "button",
            {
              type: "button",
              class: "term-weight",
              title: "Weight: click to change (1, 2, 0.5)",
              "aria-label": `Weight ${t.weight} of ${label}; click to change`,
              onclick: () => {
                t.weight = WEIGHTS[(WEIGHTS.indexOf(t.weight) + 1) % WEIGHTS.length];
                this.render();
                this.onChange();
              },
            },
            `×${t.weight}`,
          ),
          h(
            "button",
            {
              type: "button",
              class: "term-remove",
              "aria-label": `Remove ${sign} ${label}`,
              onclick: () => {
                this.removeWhere((x) => x === this.terms[i]);
                this.render();
                this.onChange();
              },
            },
            "×",
          ),
        );
      }),
    );
  }
}

/** The combined query line: `a dog + beach.jpg − 0.5×“grass”`, or "" without chips. */
export function combinedLabel(main: string | null, terms: readonly Term[]): string {
  if (terms.length === 0) return "";
  let s = main ?? "";
  for (const t of terms) s += `${s ? " " : ""}${t.sign > 0 ? (s ? "+ " : "") : "− "}${Chips.describe(t)}`;
  return s;
}

/** The label of a result used as a chip. */
export function hitLabel(hit: { id: string; modality: string; text: string | null }): string {
  return hit.modality === "image" ? shortName(hit.id) : `“${(hit.text ?? hit.id).slice(0, 40)}”`;
}

/** The main query as the search needs it. */
export type MainQuery = { text: string } | { item: string } | { file: Blob } | null;

/**
 * Runs the main query combined with the chips: JSON /search for texts and items, the upload route
 * when an image is involved (the main image query, or an image chip as a plus/minus term).
 */
export function combinedSearch(main: MainQuery, chips: Chips, opts: SearchOptions, signal: AbortSignal): Promise<SearchResponse> {
  const terms = chips.json();
  const upload = chips.image();
  if (main && "file" in main) return api.searchImage(main.file, opts, signal, {}, terms);
  if (upload) {
    const role: UploadRole = { imageAs: upload.sign > 0 ? "plus" : "minus", ...(upload.weight !== 1 ? { imageWeight: upload.weight } : {}), ...(main ?? {}) };
    return api.searchImage(upload.file, opts, signal, role, terms);
  }
  return api.search({ ...(main ?? {}), ...terms }, opts, signal);
}

/** The text and item chips of a `terms` URL parameter (`{"plus":[…],"minus":[…]}`); [] when it is missing or malformed. */
export function termsFromUrl(v: string | null): Term[] {
  if (!v) return [];
  let t: { plus?: QueryTerm[]; minus?: QueryTerm[] };
  try {
    t = JSON.parse(v);
  } catch {
    return [];
  }
  const out: Term[] = [];
  for (const [list, sign] of [[t?.plus, 1], [t?.minus, -1]] as const) {
    if (!Array.isArray(list)) continue;
    for (const x of list) {
      const weight = typeof x?.weight === "number" && x.weight > 0 ? x.weight : 1;
      if (typeof x?.text === "string" && x.text) out.push({ sign, weight, kind: "text", text: x.text });
      else if (typeof x?.item === "string" && x.item) out.push({ sign, weight, kind: "item", id: x.item, label: shortName(x.item), thumbId: x.item });
    }
  }
  return out;
}
