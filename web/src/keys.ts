/**
 * Keyboard moves between results, as in Immich: ← → go to the previous and next result, ↑ ↓ a
 * row up or down in the image grid (one result in the text list). Focus stays on a result
 * button, so Enter and Space act on it.
 */

/** The focusable result buttons, in rank order as laid out. */
function resultButtons(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(".card-hit, .row-hit"));
}

/** How many cards sit in the first row of the grid holding `el` (1 for the list). */
function columns(el: HTMLElement): number {
  const grid = el.closest(".grid");
  if (!grid) return 1;
  const cards = Array.from(grid.children) as HTMLElement[];
  const top = cards[0]?.offsetTop ?? 0;
  return Math.max(1, cards.filter((c) => c.offsetTop === top).length);
}

/** Wires the arrow keys on the results area `root`. */
export function arrowNavigation(root: HTMLElement): void {
  root.addEventListener("keydown", (e) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const target = e.target as HTMLElement;
    if (!target.matches(".card-hit, .row-hit")) return;
    const all = resultButtons(root);
    const i = all.indexOf(target);
    if (i < 0) return;
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : e.key === "ArrowDown" ? columns(target) : e.key === "ArrowUp" ? -columns(target) : 0;
    if (step === 0) return;
    const next = all[Math.max(0, Math.min(all.length - 1, i + step))];
    e.preventDefault();
    next.focus();
    next.scrollIntoView({ block: "nearest" });
  });
}

/** Focuses the first result button (after a search started from a result, so focus does not fall to <body>). */
export function focusFirstResult(root: HTMLElement): void {
  resultButtons(root)[0]?.focus({ preventScroll: true });
}
