/** Tiny DOM helpers. Data from the server is only ever set as text or attributes, never as HTML. */

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element: h("a", { href, class: "x", onclick }, "text", child). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Icons, as lists of SVG path data on a 24×24 grid (stroked). */
const ICONS: Record<string, string[]> = {
  external: ["M14 4h6v6", "M20 4l-9 9", "M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"],
  copy: ["M9 9h10v11H9z", "M5 15V4h10"],
  similar: ["M4 12a8 8 0 0 1 14-5.3", "M20 12a8 8 0 0 1-14 5.3", "M18 3v4h-4", "M6 21v-4h4"],
  alert: ["M12 3l10 18H2z", "M12 10v5", "M12 18v.01"],
  image: ["M4 5h16v14H4z", "M4 16l5-5 4 4 3-3 4 4"],
  text: ["M5 6h14", "M5 10h14", "M5 14h10", "M5 18h7"],
  search: ["M11 4a7 7 0 1 1 0 14a7 7 0 0 1 0-14", "M20 20l-3.5-3.5"],
  empty: ["M3 7h18v12H3z", "M3 7l3-3h12l3 3", "M9 12h6"],
  dupes: ["M8 8h12v12H8z", "M4 16V4h12"],
  view: ["M4 9V4h5", "M20 9V4h-5", "M4 15v5h5", "M20 15v5h-5"],
};

/** An inline SVG icon (aria-hidden; give the button a label). */
export function icon(name: keyof typeof ICONS | string): SVGSVGElement {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  for (const d of ICONS[name] ?? []) {
    const p = document.createElementNS(SVG_NS, "path");
    p.setAttribute("d", d);
    svg.append(p);
  }
  return svg;
}

/** The last path segment of an id or path, for compact display. */
export function shortName(id: string): string {
  const parts = id.split("/");
  return parts[parts.length - 1] || id;
}
