/**
 * The filter panel (issue 12): date taken from/to, camera, and the order of the results; kept in
 * the URL (?from=&to=&camera=&sort=) so a filtered search can be linked and survives a reload.
 * It turns into the API's `where` expressions ("taken>=2020-01-01", "camera in (Canon,Nikon)")
 * and `sort`. Modality has its own control (Images / Texts / Both).
 */
import "./filters.css";
import { h } from "./dom.js";

/** Filter state as it lives in the URL. */
export interface Filters {
  from: string;
  to: string;
  camera: string;
  sort: "relevance" | "taken" | "-taken";
}

const SORTS: [Filters["sort"], string][] = [
  ["relevance", "Best match"],
  ["-taken", "Newest first"],
  ["taken", "Oldest first"],
];

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A typed camera maker as clipdb records it at ingest (the server's `camera`: the first word of
 * EXIF Make in title case, short all-caps names such as "LG" kept), so "canon" finds "Canon" and
 * "NIKON CORPORATION" finds "Nikon".
 */
export function cameraBrand(typed: string): string {
  const first = typed.trim().split(/\s+/)[0]?.replace(/[.,()]+$/, "") ?? "";
  if (!first) return "";
  return first.length <= 3 && first === first.toUpperCase() ? first : first[0].toUpperCase() + first.slice(1).toLowerCase();
}

let inputs: { from: HTMLInputElement; to: HTMLInputElement; camera: HTMLInputElement; sort: HTMLSelectElement; count: HTMLElement } | null = null;

/** The current filters (empty strings when unset). */
export function currentFilters(): Filters {
  if (!inputs) return { from: "", to: "", camera: "", sort: "relevance" };
  return { from: inputs.from.value, to: inputs.to.value, camera: inputs.camera.value.trim(), sort: inputs.sort.value as Filters["sort"] };
}

/** The API's `where` expressions and `sort` for the current filters (nothing when unset). */
export function filterOptions(): { where?: string[]; sort?: Filters["sort"] } {
  const f = currentFilters();
  const where: string[] = [];
  if (DATE.test(f.from)) where.push(`taken>=${f.from}`);
  if (DATE.test(f.to)) where.push(`taken<=${f.to}`);
  const cams = f.camera
    .split(",")
    .map((c) => cameraBrand(c.replace(/[()]/g, " ")))
    .filter(Boolean);
  if (cams.length) where.push(`camera in (${cams.join(",")})`);
  return { ...(where.length ? { where } : {}), ...(f.sort !== "relevance" ? { sort: f.sort } : {}) };
}

/** Writes the filters into URL parameters (unset ones left out). */
export function filtersToUrl(p: URLSearchParams): void {
  const f = currentFilters();
  if (f.from) p.set("from", f.from);
  if (f.to) p.set("to", f.to);
  if (f.camera) p.set("camera", f.camera);
  if (f.sort !== "relevance") p.set("sort", f.sort);
}

/** Reads the filters from URL parameters (missing ones cleared). */
export function filtersFromUrl(p: URLSearchParams): void {
  if (!inputs) return;
  inputs.from.value = DATE.test(p.get("from") ?? "") ? p.get("from")! : "";
  inputs.to.value = DATE.test(p.get("to") ?? "") ? p.get("to")! : "";
  inputs.camera.value = p.get("camera") ?? "";
  const sort = p.get("sort");
  inputs.sort.value = SORTS.some(([v]) => v === sort) ? sort! : "relevance";
  syncCount();
}

function syncCount(): void {
  if (!inputs) return;
  const n = (filterOptions().where ?? []).length;
  inputs.count.textContent = n ? String(n) : "";
  inputs.count.hidden = n === 0;
}

/**
 * Builds the panel after `anchor` (the search options row) and calls `onChange` when a filter
 * changes. Idempotent.
 */
export function mountFilters(anchor: HTMLElement, onChange: () => void): void {
  if (inputs) return;
  const changed = () => {
    syncCount();
    onChange();
  };
  const from = h("input", { id: "f-from", type: "date", "aria-label": "Taken from", onchange: changed });
  const to = h("input", { id: "f-to", type: "date", "aria-label": "Taken until", onchange: changed });
  const camera = h("input", { id: "f-camera", type: "text", placeholder: "Canon, Nikon", spellcheck: "false", "aria-label": "Camera makers, comma separated", onchange: changed });
  const sort = h("select", { id: "f-sort", "aria-label": "Order of results", onchange: changed }, ...SORTS.map(([v, label]) => h("option", { value: v }, label)));
  const count = h("span", { class: "filter-count", hidden: true });
  const clear = h(
    "button",
    {
      type: "button",
      class: "filter-clear",
      onclick: () => {
        from.value = to.value = camera.value = "";
        sort.value = "relevance";
        changed();
      },
    },
    "Clear",
  );
  inputs = { from, to, camera, sort, count };
  const panel = h(
    "details",
    { class: "filters", id: "filters" },
    h("summary", {}, "Filters", count),
    h(
      "div",
      { class: "filters-body" },
      h("label", { class: "filter" }, h("span", {}, "Taken from"), from),
      h("label", { class: "filter" }, h("span", {}, "to"), to),
      h("label", { class: "filter" }, h("span", {}, "Camera"), camera),
      h("label", { class: "filter" }, h("span", {}, "Sort"), sort),
      clear,
    ),
  );
  anchor.after(panel);
}

/** Opens the panel (when the URL carries filters, so they are seen). */
export function openFiltersIfSet(): void {
  const panel = document.getElementById("filters") as HTMLDetailsElement | null;
  const f = currentFilters();
  if (panel && (f.from || f.to || f.camera || f.sort !== "relevance")) panel.open = true;
}
