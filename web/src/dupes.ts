/**
 * The near-duplicates of a result (issue 12): a dialog listing the stored images that are the
 * same picture re-encoded, resized, cropped or rotated (GET /api/v1/items/{id}/duplicates).
 * Escape or the close button closes it.
 */
import { api, setImageSrc, thumbUrl, type Hit } from "./api.js";
import { h, shortName } from "./dom.js";

let dialog: HTMLDialogElement | null = null;

function ensureDialog(): HTMLDialogElement {
  if (dialog) return dialog;
  dialog = h("dialog", { class: "dupes-dialog", id: "dupes", "aria-labelledby": "dupes-title" });
  document.body.append(dialog);
  return dialog;
}

/** Opens the dialog for `hit` and fills it from the API. */
export async function showDuplicates(hit: Hit): Promise<void> {
  const d = ensureDialog();
  const close = h("button", { type: "button", class: "secondary-button dupes-close", onclick: () => d.close() }, "Close");
  const body = h("div", { class: "dupes-grid", "aria-busy": "true" });
  const note = h("p", {}, "Looking for copies of this picture…");
  d.replaceChildren(close, h("h2", { id: "dupes-title" }, `Near-duplicates of ${shortName(hit.id)}`), note, body);
  if (!d.open) d.showModal();
  try {
    const res = await api.duplicates(hit.id);
    note.textContent = res.duplicates.length
      ? `${res.duplicates.length} stored image${res.duplicates.length > 1 ? "s are" : " is"} the same picture (re-encoded, resized, cropped or rotated).`
      : "No near-duplicates: no stored image is this picture re-encoded, resized, cropped or rotated.";
    body.replaceChildren(
      ...res.duplicates.map((m) => {
        const img = h("img", { alt: shortName(m.id), loading: "lazy" });
        setImageSrc(img, thumbUrl(m.id));
        return h("figure", { class: "dupe", "data-id": m.id }, img, h("figcaption", { title: m.id }, `${shortName(m.id)} · ${m.score.toFixed(3)} · ${m.distance} bits`));
      }),
    );
  } catch (e) {
    note.textContent = `Could not load the duplicates: ${(e as Error).message}`;
  } finally {
    body.setAttribute("aria-busy", "false");
  }
}
