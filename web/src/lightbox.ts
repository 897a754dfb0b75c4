/**
 * The viewer (Immich's and clip-front's lightbox): one result at a time in a modal dialog, with
 * its full image, all its captions, its metadata, its near-duplicates (GET /items/:id/duplicates)
 * and "Search similar". ← and → move between the results, Escape closes and gives focus back to
 * the result it was opened from.
 */
import { api, imageUrl, setImageSrc, thumbUrl, type Hit } from "./api.js";
import { h, shortName } from "./dom.js";

/** What the viewer can ask the app to do. */
export interface LightboxActions {
  similar(hit: Hit): void;
}

let dialog: HTMLDialogElement | null = null;
let hits: Hit[] = [];
let at = 0;
let actions: LightboxActions | null = null;
let opener: (() => HTMLElement | null) | null = null;
/** Increases with every shown hit, so late answers for a previous one are dropped. */
let shown = 0;

function ensureDialog(): HTMLDialogElement {
  if (dialog) return dialog;
  const d = h("dialog", { id: "lightbox", class: "lightbox", "aria-label": "Result viewer" });
  dialog = d;
  d.addEventListener("keydown", (e) => {
    if (e.key === "ArrowRight") move(1, e);
    else if (e.key === "ArrowLeft") move(-1, e);
  });
  d.addEventListener("close", () => {
    const back = opener?.();
    if (back) back.focus();
  });
  // A click on the backdrop (outside the panel) closes, as in most viewers.
  d.addEventListener("click", (e) => {
    if (e.target === d) d.close();
  });
  document.body.append(d);
  return d;
}

function move(step: number, e?: Event): void {
  const next = at + step;
  if (next < 0 || next >= hits.length) return;
  e?.preventDefault();
  at = next;
  render();
}

/** The captions of a hit: an image's paired texts, or a text itself (fetched per id). */
async function captionsOf(hit: Hit): Promise<string[]> {
  if (hit.modality === "text") return [hit.text ?? hit.id];
  const texts = await Promise.all(hit.pairs.map((id) => api.item(id).then((it) => it.text ?? id, () => id)));
  return texts;
}

function metaRows(hit: Hit): HTMLElement {
  const rows: [string, string][] = [
    ["id", hit.id],
    ["score (cosine)", hit.score.toFixed(4)],
  ];
  if (typeof hit.relevance === "number") rows.push(["relevance", hit.relevance.toFixed(2)]);
  rows.push(["rank", String(hit.rank)]);
  if (hit.path) rows.push(["file", hit.path]);
  for (const [key, value] of Object.entries(hit.meta ?? {})) rows.push([key, typeof value === "string" ? value : JSON.stringify(value)]);
  return h("dl", { class: "lightbox-meta" }, ...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function render(): void {
  const d = ensureDialog();
  const hit = hits[at];
  const ticket = ++shown;
  const imageId = hit.modality === "image" ? hit.id : hit.pairs[0];
  const picture = imageId ? h("img", { class: "lightbox-img", alt: hit.caption ?? shortName(imageId) }) : h("div", { class: "lightbox-noimg" }, "A text item without an image");
  if (picture instanceof HTMLImageElement) setImageSrc(picture, imageUrl(imageId!));
  const captions = h("ul", { class: "lightbox-captions", "aria-label": "Captions" }, h("li", { class: "muted" }, "Loading captions…"));
  const dupes = h("div", { class: "lightbox-dupes", hidden: true });
  const prev = h("button", { type: "button", class: "icon-button lightbox-prev", "aria-label": "Previous result", disabled: at === 0, onclick: () => move(-1) }, "‹");
  const next = h("button", { type: "button", class: "icon-button lightbox-next", "aria-label": "Next result", disabled: at === hits.length - 1, onclick: () => move(1) }, "›");
  const close = h("button", { type: "button", class: "icon-button lightbox-close", "aria-label": "Close the viewer", onclick: () => d.close() }, "×");
  const similar = h(
    "button",
    {
      type: "button",
      class: "search-button lightbox-similar",
      onclick: () => {
        const a = actions;
        d.close();
        a?.similar(hit);
      },
    },
    "Search similar",
  );
  d.replaceChildren(
    h(
      "div",
      { class: "lightbox-panel" },
      h("div", { class: "lightbox-stage" }, prev, picture, next),
      h(
        "aside",
        { class: "lightbox-side" },
        h("div", { class: "lightbox-head" }, h("h2", { class: "lightbox-title" }, shortName(hit.id)), h("span", { class: "lightbox-pos" }, `${at + 1} of ${hits.length}`), close),
        similar,
        h("h3", {}, "Captions"),
        captions,
        h("h3", {}, "Details"),
        metaRows(hit),
        dupes,
      ),
    ),
  );
  // The element that had focus was replaced: keep focus inside the viewer, so ← → and Escape still reach it.
  if (d.open) similar.focus();
  void captionsOf(hit).then((texts) => {
    if (ticket !== shown) return;
    captions.replaceChildren(...(texts.length ? texts.map((t) => h("li", {}, t)) : [h("li", { class: "muted" }, "No captions")]));
  });
  if (hit.modality === "image") {
    void api.duplicates(hit.id).then(
      ({ duplicates: list }) => {
        if (ticket !== shown || list.length === 0) return;
        dupes.hidden = false;
        dupes.replaceChildren(
          h("h3", {}, `Near-duplicates (${list.length})`),
          h(
            "div",
            { class: "lightbox-dupe-list" },
            ...list.map((m) => {
              const img = h("img", { alt: shortName(m.id), loading: "lazy" });
              setImageSrc(img, thumbUrl(m.id));
              return h("figure", { class: "lightbox-dupe", title: `${m.id} · cosine ${m.score.toFixed(3)}` }, img, h("figcaption", {}, shortName(m.id)));
            }),
          ),
        );
      },
      () => undefined, // a server without the endpoint, or an error: no duplicates shown
    );
  }
}

/**
 * Opens the viewer on `list[index]`. `focusBack` gives the element to focus when it closes (the
 * result's card, which may have been re-rendered meanwhile).
 */
export function openLightbox(list: Hit[], index: number, acts: LightboxActions, focusBack: () => HTMLElement | null): void {
  hits = list;
  at = Math.max(0, Math.min(index, list.length - 1));
  actions = acts;
  opener = focusBack;
  const d = ensureDialog();
  render();
  if (!d.open) d.showModal();
  d.querySelector<HTMLElement>(".lightbox-similar")?.focus();
}

/** Whether the viewer is open. */
export function lightboxOpen(): boolean {
  return dialog?.open ?? false;
}
