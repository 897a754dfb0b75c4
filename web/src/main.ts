/** The clipdb search page: state, events, and calls to the HTTP API. */
import "./style.css";
import { api, ApiError, onTokenNeeded, setImageSrc, thumbUrl, type Hit, type IndexKind, type Modality, type SearchOptions, type SearchResponse, type Stats } from "./api.js";
import { shortName } from "./dom.js";
import { renderError, renderResults, renderSkeleton, renderWelcome, type ResultActions } from "./render.js";
import { uiMessage } from "./messages.js";
import { Chips, combinedLabel, combinedSearch, hitLabel, termsFromUrl } from "./chips.js";
import { filterOptions, filtersFromUrl, filtersToUrl, mountFilters, openFiltersIfSet } from "./filters.js";
import { showDuplicates } from "./dupes.js";
import { openLightbox } from "./lightbox.js";
import { arrowNavigation, focusFirstResult } from "./keys.js";
import { download, resultsCsv, resultsJson } from "./export.js";

/** What is being searched for. */
type Query =
  | { kind: "text"; text: string }
  | { kind: "image"; file: Blob; url: string; name: string }
  | { kind: "item"; id: string; modality: Modality; label: string; thumbId?: string };

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const el = {
  form: $<HTMLFormElement>("search-form"),
  q: $<HTMLInputElement>("q"),
  file: $<HTMLInputElement>("file"),
  pick: $<HTMLButtonElement>("pick"),
  chip: $<HTMLDivElement>("query-chip"),
  chipImg: $<HTMLImageElement>("query-chip-img"),
  chipLabel: $<HTMLSpanElement>("query-chip-label"),
  chipClear: $<HTMLButtonElement>("query-chip-clear"),
  k: $<HTMLInputElement>("k"),
  nprobe: $<HTMLInputElement>("nprobe"),
  ef: $<HTMLInputElement>("ef"),
  nprobeField: $<HTMLLabelElement>("nprobe-field"),
  efField: $<HTMLLabelElement>("ef-field"),
  latency: $<HTMLOutputElement>("latency"),
  results: $<HTMLElement>("results"),
  stats: $<HTMLDivElement>("stats"),
  drop: $<HTMLDivElement>("drop-overlay"),
  toast: $<HTMLDivElement>("toast"),
  announce: $<HTMLDivElement>("announce"),
  indexHint: $<HTMLParagraphElement>("index-hint"),
  login: $<HTMLDialogElement>("login"),
  loginForm: $<HTMLFormElement>("login-form"),
  loginToken: $<HTMLInputElement>("login-token"),
  loginError: $<HTMLParagraphElement>("login-error"),
  loginCancel: $<HTMLButtonElement>("login-cancel"),
  hideWeak: $<HTMLInputElement>("hide-weak"),
  terms: $<HTMLDivElement>("terms"),
  combined: $<HTMLParagraphElement>("combined"),
  termFile: $<HTMLInputElement>("term-file"),
  termText: $<HTMLInputElement>("term-text"),
  downloads: $<HTMLSpanElement>("downloads"),
  downloadJson: $<HTMLButtonElement>("download-json"),
  downloadCsv: $<HTMLButtonElement>("download-csv"),
};

/** Every hit on screen: the first page and those "Load more" added. */
let shownHits: Hit[] = [];
/** Set by a search started from a result (Enter on a card), so focus goes to the new results, not to <body>. */
let focusResults = false;

/** The short placeholders of a phone-width search bar, so they are not cut. */
const narrow = (): boolean => matchMedia("(max-width: 640px)").matches;

/** "+"/"−" chips added to the query (web/src/chips.ts). */
const chips = new Chips(el.terms, () => void run());

/** Shows the combined query line (the main query and its chips), or hides it. */
function showCombined(): void {
  const main = !query ? null : query.kind === "text" ? `“${query.text}”` : query.kind === "item" ? query.label : query.name;
  const label = combinedLabel(main, chips.list());
  el.combined.hidden = label === "";
  el.combined.textContent = label ? `Combined query: ${label}` : "";
}

/** "More like this" / "less like this" on a result: a chip of that item. */
function addHit(hit: Hit, sign: 1 | -1): void {
  chips.add({ sign, weight: 1, kind: "item", id: hit.id, label: hitLabel(hit), thumbId: hit.modality === "image" ? hit.id : hit.pairs[0] });
}

const EXAMPLES = ["a dog", "pizza on a table", "a red bus", "people skiing", "a cat", "an airplane in the sky"];

let query: Query | null = null;
let stats: Stats | null = null;
let inflight: AbortController | null = null;
let lastResponse: SearchResponse | null = null;

function radio(name: string): string {
  return (document.querySelector<HTMLInputElement>(`input[name="${name}"]:checked`)?.value ?? "") as string;
}

function setRadio(name: string, value: string): void {
  const input = document.querySelector<HTMLInputElement>(`input[name="${name}"][value="${CSS.escape(value)}"]`);
  if (input && !input.disabled) input.checked = true;
}

/**
 * The value of a number input within its min and max. Out of range, it is clamped to the nearest
 * bound (k = 0 becomes 1, k = 1000 becomes 200), the input shows it, and a toast says so: a
 * different k than typed is never silent. Not a number: `fallback`, also said.
 */
function clampInt(input: HTMLInputElement, fallback: number): number {
  const n = Math.round(Number(input.value));
  const min = Number(input.min || 1);
  const max = Number(input.max || 1000);
  const name = input.id;
  let v = n;
  if (input.value.trim() === "" || !Number.isFinite(n)) v = fallback;
  else if (n < min) v = min;
  else if (n > max) v = max;
  if (String(v) !== input.value) {
    const why = !Number.isFinite(n) || input.value.trim() === "" ? "needs a number" : n < min ? `is at least ${min}` : `is at most ${max}`;
    input.value = String(v);
    toast(`${name} ${why}: using ${v}`);
  }
  return v;
}

/** The current search options from the controls. */
function options(): SearchOptions {
  const index = (radio("index") || "auto") as IndexKind;
  const opts: SearchOptions = { k: clampInt(el.k, 24), modality: (radio("modality") || "image") as SearchOptions["modality"], index };
  const kind = kindOf(index);
  // The API types a kind's parameter as a string; the UI has inputs for these two.
  const param = kind?.param;
  if (param === "nprobe" || param === "ef") opts[param] = clampInt(paramInputs()[param].input, kind?.default ?? 16);
  if (el.hideWeak.checked) opts.minRelevance = "auto";
  const mode = radio("mode");
  if (mode === "hybrid" || mode === "keyword") opts.mode = mode;
  return { ...opts, ...filterOptions() };
}

/** The input of each search parameter a kind may have. */
function paramInputs(): Record<"nprobe" | "ef", { field: HTMLElement; input: HTMLInputElement }> {
  return { nprobe: { field: el.nprobeField, input: el.nprobe }, ef: { field: el.efField, input: el.ef } };
}

/** The kind the server reports under `name`, if any. */
function kindOf(name: string): Stats["kinds"][number] | undefined {
  return stats?.kinds.find((k) => k.name === name);
}

/** Shows the search parameter of the selected kind only (nprobe for IVF, ef for HNSW). */
function syncIndexFields(): void {
  const param = kindOf(radio("index"))?.param;
  for (const [key, { field }] of Object.entries(paramInputs())) field.hidden = key !== param;
}

/**
 * One radio per index kind the server reports, after Auto and Exact: enabled when built (and not
 * damaged) for some modality, otherwise disabled with how to build it.
 */
function renderKinds(s: Stats): void {
  const group = document.querySelector<HTMLFieldSetElement>("#index")!;
  const selected = radio("index");
  for (const old of group.querySelectorAll("label[data-kind]")) old.remove();
  for (const k of s.kinds) {
    const label = document.createElement("label");
    label.dataset.kind = k.name;
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "index";
    input.value = k.name;
    const built = s.indexes.some((i) => i.type === k.name && !i.damaged);
    input.disabled = !built;
    input.checked = built && selected === k.name;
    label.title = built ? k.describe : `No ${k.name.toUpperCase()} index yet: run 'clipdb index build --type ${k.name}' (${k.describe})`;
    const span = document.createElement("span");
    span.textContent = k.name.toUpperCase();
    label.append(input, span);
    input.addEventListener("change", () => {
      syncIndexFields();
      if (query) void run();
    });
    group.append(label);
  }
}

/** The chip in the search bar that shows an image or item query. */
function renderChip(): void {
  if (!query || query.kind === "text") {
    el.chip.hidden = true;
    el.chipImg.removeAttribute("src");
    el.q.placeholder = narrow() ? "Describe a picture…" : "Describe what you are looking for…";
    return;
  }
  el.chip.hidden = false;
  if (query.kind === "image") {
    // An <img> from an object URL: browsers apply EXIF orientation (image-orientation: from-image).
    el.chipImg.src = query.url;
    el.chipImg.hidden = false;
    el.chipLabel.textContent = query.name;
    el.chipLabel.title = query.name;
  } else {
    if (query.thumbId) {
      setImageSrc(el.chipImg, thumbUrl(query.thumbId));
      el.chipImg.hidden = false;
    } else {
      el.chipImg.hidden = true;
    }
    el.chipLabel.textContent = `Similar to ${query.label}`;
    el.chipLabel.title = query.id;
  }
  el.q.placeholder = narrow() ? "Or type…" : "Or type to search by text…";
}

function setQuery(next: Query | null): void {
  if (query?.kind === "image" && (!next || next.kind !== "image" || next.url !== query.url)) URL.revokeObjectURL(query.url);
  query = next;
  renderChip();
}

/** Mirrors text and item queries in the URL, so back/forward and links work. */
function pushUrl(): void {
  const p = new URLSearchParams();
  if (query?.kind === "text") p.set("q", query.text);
  else if (query?.kind === "item") p.set("item", query.id);
  else return;
  const o = options();
  p.set("in", o.modality);
  p.set("k", String(o.k));
  p.set("index", o.index);
  if (o.nprobe) p.set("nprobe", String(o.nprobe));
  if (o.ef) p.set("ef", String(o.ef));
  if (o.minRelevance) p.set("weak", "hide");
  if (o.mode) p.set("mode", o.mode);
  const terms = chips.json();
  if (terms.plus || terms.minus) p.set("terms", JSON.stringify(terms));
  filtersToUrl(p);
  const url = `?${p.toString()}`;
  if (url !== location.search) history.pushState(null, "", url);
}

function showLatency(res: SearchResponse, roundTrip: number): void {
  // HNSW does not count the vectors it scores: "n/a", not a misleading 0; keyword ranking scores none.
  const scanned = res.index === "hnsw" ? "n/a scanned" : res.index === "keyword" ? "no vectors scanned" : `${res.scanned.toLocaleString()} scanned`;
  const mode = res.mode && res.mode !== "vector" ? ` · ${res.mode}` : "";
  el.latency.textContent = `${res.ms.toFixed(1)} ms · ${res.index}${mode} · ${scanned}`;
  el.latency.title = `Server time ${res.ms.toFixed(1)} ms (embedding included); round trip ${roundTrip.toFixed(0)} ms`;
}

/** Runs the current query with the current options, cancelling any search in flight. */
async function run(push = true): Promise<void> {
  if (!query && chips.list().length === 0) {
    showCombined();
    renderWelcome(el.results, stats, EXAMPLES, runText);
    return;
  }
  inflight?.abort();
  const ctrl = new AbortController();
  inflight = ctrl;
  const opts = options();
  if (push) pushUrl();
  el.results.setAttribute("aria-busy", "true");
  document.body.classList.add("is-loading");
  if (lastResponse && el.results.querySelector(".grid, .list")) el.results.classList.add("stale");
  else renderSkeleton(el.results, opts.k, opts.modality);
  const t0 = performance.now();
  try {
    const main = !query ? null : query.kind === "text" ? { text: query.text } : query.kind === "item" ? { item: query.id } : { file: query.file };
    const res = await combinedSearch(main, chips, opts, ctrl.signal);
    showCombined();
    if (ctrl.signal.aborted) return;
    lastResponse = res;
    shownHits = res.results;
    showLatency(res, performance.now() - t0);
    el.downloads.hidden = res.results.length === 0;
    if (res.results.length === 0 && stats && stats.images + stats.texts === 0) {
      // An empty collection: keep the guidance on how to fill it, rather than "No matches".
      renderWelcome(el.results, stats, EXAMPLES, runText);
      return;
    }
    renderResults(el.results, res, resultActions());
    if (focusResults) focusFirstResult(el.results);
    if (res.results.length === 0 && opts.minRelevance) {
      const p = el.results.querySelector(".state p");
      if (p) p.textContent = "No result passed the relevance cutoff. Uncheck “Hide weak matches” to see the closest ones.";
    }
    el.announce.textContent = `${res.results.length} results in ${res.ms.toFixed(0)} milliseconds`;
  } catch (err) {
    if ((err as Error).name === "AbortError" || ctrl.signal.aborted) return;
    lastResponse = null;
    shownHits = [];
    el.latency.textContent = "";
    el.downloads.hidden = true;
    const upload = query?.kind === "image" ? { name: query.name, pick: () => el.file.click() } : undefined;
    renderError(el.results, err, () => void run(false), upload);
    if (upload) el.results.querySelector<HTMLElement>("#pick-another")?.focus();
  } finally {
    focusResults = false;
    if (inflight === ctrl) {
      inflight = null;
      el.results.setAttribute("aria-busy", "false");
      el.results.classList.remove("stale");
      document.body.classList.remove("is-loading");
    }
  }
}

/** What result cards can do: search similar, copy, more/less like this, view, load more. */
function resultActions(): ResultActions {
  return {
    similar,
    copyId,
    duplicates: (hit) => void showDuplicates(hit),
    more: (hit) => addHit(hit, 1),
    less: (hit) => addHit(hit, -1),
    view: (hit) => {
      const i = shownHits.findIndex((x) => x.id === hit.id);
      openLightbox(shownHits, i, { similar }, () => el.results.querySelector<HTMLElement>(`[data-id="${CSS.escape(hit.id)}"] .card-hit, [data-id="${CSS.escape(hit.id)}"] .row-hit`));
    },
    loadMore: () => void loadMore(),
  };
}

/**
 * "Load more": the page after the last one, by the response's cursor (the server reuses the
 * query's embedding and upload), appended to the results on screen; focus moves to the first new one.
 */
async function loadMore(): Promise<void> {
  const cursor = lastResponse?.next;
  if (!cursor || inflight) return;
  const ctrl = new AbortController();
  inflight = ctrl;
  const button = el.results.querySelector<HTMLButtonElement>("#load-more");
  if (button) {
    button.disabled = true;
    button.textContent = "Loading…";
  }
  el.results.setAttribute("aria-busy", "true");
  const t0 = performance.now();
  try {
    const page = await api.more(cursor, ctrl.signal);
    const firstNew = page.results[0]?.id;
    shownHits = [...shownHits, ...page.results];
    lastResponse = { ...page, results: shownHits };
    showLatency(page, performance.now() - t0);
    renderResults(el.results, lastResponse, resultActions());
    el.announce.textContent = `${page.results.length} more results`;
    if (firstNew) el.results.querySelector<HTMLElement>(`[data-id="${CSS.escape(firstNew)}"] .card-hit, [data-id="${CSS.escape(firstNew)}"] .row-hit`)?.focus();
  } catch (err) {
    toast(err instanceof ApiError ? uiMessage(err) : "Could not load more results");
    if (button) {
      button.disabled = false;
      button.textContent = "Load more";
    }
  } finally {
    if (inflight === ctrl) inflight = null;
    el.results.setAttribute("aria-busy", "false");
  }
}

function runText(text: string): void {
  el.q.value = text;
  setQuery({ kind: "text", text });
  void run();
}

function runImage(file: File | Blob): void {
  if (file.type && !file.type.startsWith("image/")) {
    toast(`“${(file as File).name ?? "file"}” is not an image`);
    return;
  }
  el.q.value = "";
  const name = file instanceof File && file.name ? file.name : "Pasted image";
  setQuery({ kind: "image", file, url: URL.createObjectURL(file), name });
  void run(false);
  history.pushState(null, "", location.pathname);
}

/** Item → item: search with a result's own vector. */
function similar(hit: Hit): void {
  const label = hit.modality === "image" ? shortName(hit.id) : `“${truncate(hit.text ?? hit.id, 40)}”`;
  el.q.value = "";
  setQuery({ kind: "item", id: hit.id, modality: hit.modality, label, thumbId: hit.modality === "image" ? hit.id : hit.pairs[0] });
  focusResults = true;
  void run();
  window.scrollTo({ top: 0, behavior: "smooth" });
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

let toastTimer = 0;
function toast(text: string): void {
  el.toast.textContent = text;
  el.toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => (el.toast.hidden = true), 2200);
}

async function copyId(id: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(id);
  } catch {
    // Clipboard API needs a secure context; fall back to a hidden textarea.
    const ta = document.createElement("textarea");
    ta.value = id;
    ta.setAttribute("readonly", "");
    ta.style.position = "fixed";
    ta.style.opacity = "0";
    document.body.append(ta);
    ta.select();
    document.execCommand("copy");
    ta.remove();
  }
  toast(`Copied id ${truncate(id, 60)}`);
}

/** Header: counts, model and dimension; also disables indexes that are not built. */
async function loadStats(): Promise<void> {
  try {
    stats = await api.stats();
  } catch (e) {
    const needsToken = e instanceof ApiError && e.status === 401;
    el.stats.replaceChildren(badge(needsToken ? "Token needed" : "Server unreachable", "stat-error", needsToken ? "Reload the page to enter the token" : ""));
    return;
  }
  const model = stats.model ?? "no model";
  el.stats.replaceChildren(
    badge(`${stats.images.toLocaleString()} images`),
    badge(`${stats.texts.toLocaleString()} texts`),
    badge(`${stats.pairs.toLocaleString()} pairs`, "stat-minor"),
    badge(shortName(model), "stat-model", `Model: ${model}`),
    stats.dim ? badge(`${stats.dim}-d`, "stat-minor", "Vector dimension") : document.createTextNode(""),
  );
  renderKinds(stats);
  // The URL may name a kind that had no radio before the kinds were known.
  const wanted = new URLSearchParams(location.search).get("index");
  if (wanted && wanted !== radio("index")) setRadio("index", wanted);
  if (radio("index") === "" || (document.querySelector<HTMLInputElement>('input[name="index"]:checked')?.disabled ?? false)) {
    setRadio("index", "auto");
  }
  const missing = stats.kinds.map((k) => k.name).filter((t) => !stats!.indexes.some((i) => i.type === t));
  el.indexHint.hidden = missing.length === 0;
  const code = document.createElement("code");
  code.textContent = `clipdb index build --type ${missing[0] ?? ""}`;
  el.indexHint.replaceChildren(
    `${missing.map((t) => t.toUpperCase()).join(" and ")} ${missing.length > 1 ? "need an index" : "needs an index"}: run `,
    code,
    ". Exact search always works.",
  );
  syncIndexFields();
  if (!query) renderWelcome(el.results, stats, EXAMPLES, runText);
}

function badge(text: string, cls = "", title = ""): HTMLElement {
  const s = document.createElement("span");
  s.className = `stat ${cls}`.trim();
  s.textContent = text;
  if (title) s.title = title;
  return s;
}

/** Reads ?q= / ?item= and options from the URL (first load and back/forward). */
async function fromUrl(): Promise<void> {
  const p = new URLSearchParams(location.search);
  if (p.get("in")) setRadio("modality", p.get("in")!);
  if (p.get("index")) setRadio("index", p.get("index")!);
  if (p.get("k")) el.k.value = p.get("k")!;
  if (p.get("nprobe")) el.nprobe.value = p.get("nprobe")!;
  if (p.get("ef")) el.ef.value = p.get("ef")!;
  el.hideWeak.checked = p.get("weak") === "hide";
  setRadio("mode", p.get("mode") ?? "vector");
  chips.set(termsFromUrl(p.get("terms")));
  filtersFromUrl(p);
  openFiltersIfSet();
  syncIndexFields();
  const q = p.get("q");
  const item = p.get("item");
  if (q) {
    el.q.value = q;
    setQuery({ kind: "text", text: q });
    await run(false);
  } else if (item) {
    el.q.value = "";
    let modality: Modality = "image";
    let label = shortName(item);
    let thumbId: string | undefined = item;
    try {
      const it = await api.item(item);
      modality = it.modality;
      if (it.modality === "text") {
        label = `“${truncate(it.text ?? item, 40)}”`;
        thumbId = it.pairs[0];
      }
    } catch {
      // The search itself will report the unknown id; show no picture for it.
      thumbId = undefined;
    }
    setQuery({ kind: "item", id: item, modality, label, thumbId });
    await run(false);
  } else {
    el.q.value = "";
    setQuery(null);
    lastResponse = null;
    shownHits = [];
    el.downloads.hidden = true;
    el.latency.textContent = "";
    renderWelcome(el.results, stats, EXAMPLES, runText);
  }
}

/**
 * The login dialog, shown when the server answers 401 (started with --token, off loopback): the
 * token is kept for this tab (sessionStorage) and sent as a Bearer header.
 */
function askToken(rejected: boolean): Promise<string | null> {
  return new Promise((resolve) => {
    el.loginError.hidden = !rejected;
    el.loginToken.value = "";
    const finish = (value: string | null) => {
      el.loginForm.removeEventListener("submit", onSubmit);
      el.loginCancel.removeEventListener("click", onCancel);
      el.login.removeEventListener("cancel", onCancel);
      if (el.login.open) el.login.close();
      resolve(value);
    };
    const onSubmit = (e: Event) => {
      e.preventDefault();
      const value = el.loginToken.value.trim();
      if (value) finish(value);
    };
    const onCancel = (e: Event) => {
      e.preventDefault();
      finish(null);
    };
    el.loginForm.addEventListener("submit", onSubmit);
    el.loginCancel.addEventListener("click", onCancel);
    el.login.addEventListener("cancel", onCancel);
    el.login.showModal();
    el.loginToken.focus();
  });
}
onTokenNeeded(askToken);

// A query picture that cannot be loaded (removed item) is hidden rather than shown broken.
el.chipImg.addEventListener("error", () => (el.chipImg.hidden = true));

// Search bar.
el.form.addEventListener("submit", (e) => {
  e.preventDefault();
  const text = el.q.value.trim();
  if (text) runText(text);
  else if (query) void run();
  else el.q.focus();
});
el.pick.addEventListener("click", () => el.file.click());
el.file.addEventListener("change", () => {
  const f = el.file.files?.[0];
  if (f) runImage(f);
  el.file.value = "";
});
el.chipClear.addEventListener("click", () => {
  chips.clear();
  showCombined();
  setQuery(null);
  lastResponse = null;
  shownHits = [];
  el.downloads.hidden = true;
  el.latency.textContent = "";
  history.pushState(null, "", location.pathname);
  renderWelcome(el.results, stats, EXAMPLES, runText);
  el.q.focus();
});

// Chips: "+ image" uploads an image as a plus term; "+ text" / "− text" add the typed text.
$<HTMLButtonElement>("add-image").addEventListener("click", () => el.termFile.click());
el.termFile.addEventListener("change", () => {
  const f = el.termFile.files?.[0];
  if (f) chips.add({ sign: 1, weight: 1, kind: "image", file: f, url: URL.createObjectURL(f), name: f.name || "image" });
  el.termFile.value = "";
});
for (const [id, sign] of [["add-text", 1], ["sub-text", -1]] as const) {
  $<HTMLButtonElement>(id).addEventListener("click", () => {
    const text = el.termText.value.trim();
    if (!text) return el.termText.focus();
    el.termText.value = "";
    chips.add({ sign, weight: 1, kind: "text", text });
  });
}
el.hideWeak.addEventListener("change", () => {
  if (query || chips.list().length) void run();
});

// Options: re-run the current query when they change.
for (const input of document.querySelectorAll<HTMLInputElement>('input[name="modality"], input[name="index"]')) {
  input.addEventListener("change", () => {
    syncIndexFields();
    if (query) void run();
  });
}
for (const input of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) {
  input.addEventListener("change", () => {
    if (query) void run();
  });
}
arrowNavigation(el.results);
const queryLabel = (): string => (!query ? "" : query.kind === "text" ? query.text : query.kind === "item" ? query.id : query.name);
const stamp = (): string => new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
el.downloadJson.addEventListener("click", () => {
  if (lastResponse) download(`clipdb-results-${stamp()}.json`, "application/json", resultsJson(lastResponse, shownHits, queryLabel()));
});
el.downloadCsv.addEventListener("click", () => {
  if (lastResponse) download(`clipdb-results-${stamp()}.csv`, "text/csv", resultsCsv(shownHits));
});

for (const input of [el.k, el.nprobe, el.ef]) {
  input.addEventListener("change", () => {
    if (query) void run();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      if (query) void run();
    }
  });
}

// Paste an image anywhere (Ctrl+V / Cmd+V).
window.addEventListener("paste", (e) => {
  const file = Array.from(e.clipboardData?.files ?? []).find((f) => f.type.startsWith("image/"));
  if (file) {
    e.preventDefault();
    runImage(file);
  }
});

// Drag and drop an image anywhere on the page.
let dragDepth = 0;
const hasFiles = (e: DragEvent): boolean => Array.from(e.dataTransfer?.types ?? []).includes("Files");
window.addEventListener("dragenter", (e) => {
  if (!hasFiles(e)) return;
  dragDepth++;
  el.drop.hidden = false;
});
window.addEventListener("dragover", (e) => {
  if (hasFiles(e)) e.preventDefault();
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) el.drop.hidden = true;
});
window.addEventListener("drop", (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  el.drop.hidden = true;
  const file = Array.from(e.dataTransfer?.files ?? []).find((f) => f.type.startsWith("image/")) ?? e.dataTransfer?.files[0];
  if (file) runImage(file);
});

// "/" focuses the search bar, as in most search UIs.
window.addEventListener("keydown", (e) => {
  const t = e.target as HTMLElement;
  if (e.key === "/" && !e.ctrlKey && !e.metaKey && !["INPUT", "TEXTAREA"].includes(t.tagName)) {
    e.preventDefault();
    el.q.focus();
  }
});

window.addEventListener("popstate", () => void fromUrl());

mountFilters(document.querySelector<HTMLElement>(".controls")!, () => {
  if (query) void run();
});
syncIndexFields();
renderWelcome(el.results, null, EXAMPLES, runText);
void loadStats();
void fromUrl();
