/** Rendering of the results area: empty, loading, error, no-result and result states. */
import { ApiError, imageUrl, openImage, setImageSrc, thumbUrl, type Hit, type SearchResponse, type Stats } from "./api.js";
import { h, icon, shortName } from "./dom.js";
import { UPLOAD_CODES, uiMessage } from "./messages.js";

/** What a result card can ask the app to do. */
export interface ResultActions {
  /** Search for items similar to this one (item → item). */
  similar(hit: Hit): void;
  copyId(id: string): void;
  /** Adds this item to the query ("more like this") or subtracts it ("less like this"). */
  more?(hit: Hit): void;
  less?(hit: Hit): void;
  /** Show this image's near-duplicates. */
  duplicates?(hit: Hit): void;
  /** Opens the result in the viewer (web/src/lightbox.ts). */
  view?(hit: Hit): void;
  /** Loads the next page ("Load more"), shown when the response has a `next` cursor. */
  loadMore?(): void;
}

/** The viewer button of a result. */
function viewButton(hit: Hit, label: string, actions: ResultActions): HTMLButtonElement | null {
  if (!actions.view) return null;
  return h(
    "button",
    { type: "button", class: "icon-button small view-button", title: "View (captions, details, duplicates)", "aria-label": `View ${label}`, onclick: () => actions.view!(hit) },
    icon("view"),
  );
}

const fmtScore = (s: number): string => s.toFixed(3);
/** Relevance as a percentage (calibrated: comparable across models), beside the cosine. */
const fmtRelevance = (r: number | undefined): string => (r === undefined ? "" : `${Math.round(r * 100)}%`);
const RELEVANCE_TITLE = "Calibrated relevance: the estimated share of true matches among results at least this strong";

function relevanceBadge(hit: Hit): HTMLElement {
  const r = hit.relevance ?? 0;
  return h("span", { class: `relevance ${r >= 0.3 ? "relevance-strong" : "relevance-weak"}`, title: RELEVANCE_TITLE, "data-relevance": r }, fmtRelevance(hit.relevance));
}

/** "More like this" / "less like this" buttons of a result (when the app offers them). */
function moreLess(hit: Hit, label: string, actions: ResultActions): HTMLElement[] {
  if (!actions.more || !actions.less) return [];
  return [
    h("button", { type: "button", class: "icon-button small term-more", title: "More like this: add it to the query", "aria-label": `More like ${label}`, onclick: () => actions.more!(hit) }, "+"),
    h("button", { type: "button", class: "icon-button small term-less", title: "Less like this: subtract it from the query", "aria-label": `Less like ${label}`, onclick: () => actions.less!(hit) }, "−"),
  ];
}

/** A thumbnail <img> that degrades to a neutral placeholder when the image cannot be loaded. */
function thumb(id: string | undefined, alt: string): HTMLElement {
  if (!id) return h("span", { class: "thumb-missing" }, icon("text"));
  const img = h("img", { alt, loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "thumb-missing" }, icon("image"))), { once: true });
  setImageSrc(img, thumbUrl(id));
  return img;
}

function openLink(id: string, label: string): HTMLAnchorElement {
  return h(
    "a",
    {
      class: "icon-button small",
      href: imageUrl(id),
      target: "_blank",
      rel: "noopener",
      title: "Open full image",
      "aria-label": `Open full image of ${label}`,
      // With a token, the image is fetched with it and opened from a blob: URL.
      onclick: (e: Event) => {
        if (openImage(imageUrl(id))) e.preventDefault();
      },
    },
    icon("external"),
  );
}

function copyButton(id: string, label: string, actions: ResultActions): HTMLButtonElement {
  return h(
    "button",
    { type: "button", class: "icon-button small", title: "Copy id", "aria-label": `Copy id of ${label}`, onclick: () => actions.copyId(id) },
    icon("copy"),
  );
}

/** An image hit: square thumbnail with score; the picture searches for similar items. */
function imageCard(hit: Hit, actions: ResultActions): HTMLElement {
  const name = shortName(hit.id);
  return h(
    "article",
    { class: "card", "data-id": hit.id, "data-rank": hit.rank },
    h(
      "button",
      {
        type: "button",
        class: "card-hit",
        title: `${hit.id}\nClick to find similar items`,
        "aria-label": `Image ${name}, score ${fmtScore(hit.score)}. Find similar items`,
        onclick: () => actions.similar(hit),
      },
      thumb(hit.id, hit.caption ?? name),
      h("span", { class: "score", title: "Cosine similarity" }, fmtScore(hit.score)),
      relevanceBadge(hit),
      h("span", { class: "card-similar" }, icon("similar"), "Similar"),
    ),
    h("span", { class: "card-actions" }, viewButton(hit, name, actions), ...moreLess(hit, name, actions), openLink(hit.id, name),
      copyButton(hit.id, name, actions),
      actions.duplicates
        ? h("button", { type: "button", class: "icon-button small dupes-button", title: "Near-duplicates", "aria-label": `Near-duplicates of ${name}`, onclick: () => actions.duplicates!(hit) }, icon("dupes"))
        : null,
    ),
    h("p", { class: hit.caption ? "card-caption" : "card-name", title: hit.caption ? `${hit.caption}\n${hit.id}` : hit.id }, hit.caption ?? name),
  );
}

/** A text hit: its caption, its paired image's thumbnail, score and actions. */
function textRow(hit: Hit, actions: ResultActions): HTMLElement {
  const imageId = hit.pairs[0];
  const caption = hit.text ?? hit.id;
  return h(
    "article",
    { class: "row", "data-id": hit.id, "data-rank": hit.rank },
    h(
      "button",
      {
        type: "button",
        class: "row-hit",
        title: "Click to find similar items",
        "aria-label": `Text “${caption}”, score ${fmtScore(hit.score)}. Find similar items`,
        onclick: () => actions.similar(hit),
      },
      h("span", { class: "row-thumb" }, thumb(imageId, imageId ? `Image of “${caption}”` : "")),
      h("span", { class: "row-body" }, h("span", { class: "row-text" }, caption), h("span", { class: "row-id" }, hit.id)),
      h("span", { class: "score" }, fmtScore(hit.score)),
      relevanceBadge(hit),
    ),
    h(
      "div",
      { class: "row-actions" },
      viewButton(hit, `“${caption}”`, actions),
      ...moreLess(hit, `“${caption}”`, actions),
      imageId ? openLink(imageId, `the image of “${caption}”`) : null,
      copyButton(hit.id, `“${caption}”`, actions),
    ),
  );
}

function section(title: string, count: number, body: HTMLElement): HTMLElement {
  return h("section", { class: "result-section" }, h("h2", {}, title, h("span", { class: "count" }, String(count))), body);
}

/** Results: images as a responsive grid, texts as a list; "both" shows the two in rank order. */
export function renderResults(target: HTMLElement, res: SearchResponse, actions: ResultActions): void {
  const images = res.results.filter((r) => r.modality === "image");
  const texts = res.results.filter((r) => r.modality === "text");
  if (res.results.length === 0) {
    target.replaceChildren(
      stateBox("empty", "No matches", res.hint ?? "Nothing in the collection matched. Try searching both images and texts, another index, or fewer filters."),
    );
    return;
  }
  const parts: HTMLElement[] = [];
  const grid = images.length ? h("div", { class: "grid" }, ...images.map((hit) => imageCard(hit, actions))) : null;
  const list = texts.length ? h("div", { class: "list" }, ...texts.map((hit) => textRow(hit, actions))) : null;
  if (grid && list) {
    parts.push(section("Images", images.length, grid), section("Texts", texts.length, list));
  } else if (grid) parts.push(grid);
  else if (list) parts.push(list);
  if (res.next && actions.loadMore) {
    parts.push(h("div", { class: "load-more" }, h("button", { type: "button", id: "load-more", class: "secondary-button", onclick: () => actions.loadMore!() }, "Load more")));
  }
  target.replaceChildren(...parts);
}

/** A designed message block (empty, error, no results). */
export function stateBox(kind: "empty" | "error" | "welcome", title: string, text: string, ...extra: HTMLElement[]): HTMLElement {
  return h(
    "div",
    { class: `state state-${kind}`, role: kind === "error" ? "alert" : null },
    h("div", { class: "state-icon" }, icon(kind === "error" ? "alert" : kind === "welcome" ? "search" : "empty")),
    h("h2", {}, title),
    h("p", {}, text),
    ...extra,
  );
}

/** True on touch-first devices (no hover, coarse pointer): no keyboard shortcuts or drag and drop to offer. */
export function touch(): boolean {
  return typeof matchMedia === "function" && matchMedia("(pointer: coarse)").matches && !matchMedia("(hover: hover)").matches;
}

/** The first screen: what can be done, with example queries. */
export function renderWelcome(target: HTMLElement, stats: Stats | null, examples: string[], run: (q: string) => void): void {
  if (stats && stats.images + stats.texts === 0) {
    target.replaceChildren(
      stateBox(
        "empty",
        "This collection is empty",
        "There is nothing to search yet. Add images (and their captions) from a terminal, for example with clipdb add and a folder of photos, then reload this page.",
      ),
    );
    return;
  }
  const what = stats ? `${stats.images.toLocaleString()} images and ${stats.texts.toLocaleString()} texts` : "images and texts";
  target.replaceChildren(
    stateBox(
      "welcome",
      "Search by meaning",
      touch()
        ? `Describe a picture, or pick an image, to search ${what}. Tap any result to find similar ones.`
        : `Describe a picture, or drop, paste (Ctrl+V) or pick an image, to search ${what}. Click any result to find similar ones.`,
      h(
        "div",
        { class: "examples" },
        h("span", { class: "examples-label" }, "Try"),
        ...examples.map((q) => h("button", { type: "button", class: "example", onclick: () => run(q) }, q)),
      ),
    ),
  );
}

/** Skeleton tiles while the first search runs. */
export function renderSkeleton(target: HTMLElement, k: number, modality: string): void {
  const n = Math.min(k, 12);
  const tiles =
    modality === "text"
      ? h("div", { class: "list" }, ...Array.from({ length: Math.min(n, 6) }, () => h("div", { class: "row skeleton" })))
      : h("div", { class: "grid" }, ...Array.from({ length: n }, () => h("div", { class: "card skeleton" })));
  target.replaceChildren(tiles);
}

const ERROR_TITLES: Record<string, string> = {
  NETWORK: "Cannot reach the server",
  IMAGE_DECODE: "This image could not be read",
  IMAGE_TOO_LARGE: "This image is too large",
  UNSUPPORTED_MEDIA: "Unsupported file type",
  PAYLOAD_TOO_LARGE: "This file is too large",
  NOT_FOUND: "Not found",
  INDEX_NOT_BUILT: "That index has not been built",
  NO_MODEL: "This collection cannot embed queries",
  MODEL_UNAVAILABLE: "The model is not available",
  INVALID_ARGUMENT: "Invalid search",
  UNAUTHORIZED: "This server needs a token",
  FORBIDDEN: "Refused by the server",
  BUSY: "The server is busy",
  REQUEST_TIMEOUT: "The upload took too long",
};

/**
 * An error state with a message written for the UI (messages.ts) and a way on: "Try again", or,
 * for an upload that could not be used, "Pick another image" naming the file.
 */
export function renderError(target: HTMLElement, err: unknown, retry: () => void, upload?: { name: string; pick: () => void }): void {
  const e = err instanceof ApiError ? err : new ApiError("ERROR", (err as Error)?.message ?? String(err), 0);
  const title = ERROR_TITLES[e.code] ?? "Something went wrong";
  const badUpload = upload !== undefined && UPLOAD_CODES.has(e.code);
  const action = badUpload
    ? h("button", { type: "button", class: "secondary-button", id: "pick-another", onclick: upload.pick }, "Pick another image")
    : h("button", { type: "button", class: "secondary-button", onclick: retry }, "Try again");
  target.replaceChildren(
    stateBox("error", title, uiMessage(e, { upload: upload?.name }), h("div", { class: "state-actions" }, action, h("code", { class: "error-code" }, e.code))),
  );
}
