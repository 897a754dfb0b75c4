/** The UI's client of the clipdb HTTP API (/api/v1). The UI talks to HTTP only. */

import type { components, paths } from "./api.gen.js";

/*
 * The wire types come from web/src/api.gen.ts, generated from the server's OpenAPI document
 * (`npm run gen:api`; a test fails when it is stale). Only names for the parts the UI uses are here.
 */

/** The JSON answer of a route's 200. */
type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: { 200: { content: { "application/json": infer T } } } } ? T : never;
/** The JSON body of POST /api/v1/search. */
type SearchBody = paths["/api/v1/search"]["post"]["requestBody"]["content"]["application/json"];
/** The multipart fields of POST /api/v1/search/image. */
type SearchImageFields = paths["/api/v1/search/image"]["post"]["requestBody"]["content"]["multipart/form-data"];

/** The answer of both search routes. */
export type SearchResponse = components["schemas"]["SearchResponse"];
/** One search hit: the item, its score and relevance, its pairs and caption. */
export type Hit = components["schemas"]["Hit"];
/** An item, as GET /api/v1/items/{id} returns it. */
export type Item = Ok<"/api/v1/items/{id}", "get">;
/** Counts, model, indexes and index kinds, as GET /api/v1/stats returns them. */
export type Stats = Ok<"/api/v1/stats", "get">;
/** Image or text. */
export type Modality = Hit["modality"];
/** "auto", "exact", or the name of an index kind the server offers (Stats.kinds: "hnsw", "ivf"). */
export type IndexKind = NonNullable<SearchBody["index"]>;
/** How a search ranks (the API's `mode`). */
export type SearchMode = SearchResponse["mode"];

/** Options shared by every search (k, modality and index always sent). */
export type SearchOptions = Pick<SearchBody, "nprobe" | "ef" | "minRelevance" | "sort" | "mode"> & {
  k: number;
  modality: NonNullable<SearchBody["modality"]>;
  index: IndexKind;
  /** Metadata filter expressions ("taken>=2020-01-01"); see filters.ts. */
  where?: string[];
};

/** A plus or minus term of a combined query. */
export type QueryTerm = Omit<NonNullable<SearchBody["plus"]>[number], "vector">;

/** Plus and minus terms of a combined query. */
export type Terms = { plus?: QueryTerm[]; minus?: QueryTerm[] };

/** How an uploaded image enters a query: the query itself, or a weighted plus or minus term of a text or item query. */
export type UploadRole = Pick<SearchImageFields, "imageAs" | "imageWeight" | "text" | "item">;

/** An error answered by the server (`{ error: { code, message } }`) or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const BASE = "./api/v1";
const TOKEN_KEY = "clipdb.token";

/**
 * The server's Bearer token, when it asks for one (exposed with `--token`): kept in sessionStorage,
 * so it lasts for this tab and is forgotten when the tab closes.
 */
export const token = {
  get(): string | null {
    try {
      return sessionStorage.getItem(TOKEN_KEY);
    } catch {
      return null;
    }
  },
  set(value: string): void {
    try {
      sessionStorage.setItem(TOKEN_KEY, value);
    } catch {
      // Storage disabled: the token lasts until the page is left.
    }
    memoryToken = value;
  },
  clear(): void {
    try {
      sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // nothing stored
    }
    memoryToken = null;
  },
};
let memoryToken: string | null = null;
const currentToken = (): string | null => token.get() ?? memoryToken;

/** Asks the user for a token; `rejected` when the last one was refused. Resolves null when they cancel. */
type TokenPrompt = (rejected: boolean) => Promise<string | null>;
let prompt: TokenPrompt | null = null;
let asking: Promise<string | null> | null = null;

/** Sets how the UI asks for a token when the server answers 401 (the login dialog). */
export function onTokenNeeded(fn: TokenPrompt): void {
  prompt = fn;
}

/** One prompt at a time: concurrent 401s (stats, search, thumbnails) share it. */
function askForToken(rejected: boolean): Promise<string | null> {
  if (!prompt) return Promise.resolve(null);
  asking ??= prompt(rejected).then((t) => {
    asking = null;
    if (t) token.set(t);
    // A refused token that the user gives up on is not kept.
    else if (rejected) token.clear();
    return t;
  });
  return asking;
}

function withAuth(init: RequestInit): RequestInit {
  const t = currentToken();
  if (!t) return init;
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${t}`);
  return { ...init, headers };
}

/** fetch with the token; a 401 asks for one (once per call, again while the user gives wrong ones). */
async function authFetch(url: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const sent = currentToken();
    const res = await fetch(url, withAuth(init));
    if (res.status !== 401 || !prompt || init.signal?.aborted) return res;
    // Another call may already have got a new token while this one was in flight.
    if (currentToken() !== sent && currentToken()) continue;
    const next = await askForToken(sent !== null);
    if (!next) return res;
  }
}

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await authFetch(url, init);
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError("NETWORK", "The clipdb server cannot be reached. Check that it is still running, then try again.", 0);
  }
  if (!res.ok) {
    let body: { error?: { code?: string; message?: string } } | undefined;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    throw new ApiError(body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? res.statusText, res.status);
  }
  return (await res.json()) as T;
}

/** URL of an item's cached, EXIF-rotated thumbnail. */
export const thumbUrl = (id: string): string => `${BASE}/items/${encodeURIComponent(id)}/thumb`;
/** URL of an item's full image. */
export const imageUrl = (id: string): string => `${BASE}/items/${encodeURIComponent(id)}/image`;

/**
 * Shows an image of the API in `img`. Without a token, the URL itself (the browser caches it);
 * with one, the image is fetched with the token (an <img> cannot send headers) and shown from a
 * blob: URL. A failure fires the image's "error" event, as a broken src would.
 */
export function setImageSrc(img: HTMLImageElement, url: string): void {
  if (!currentToken()) {
    img.src = url;
    return;
  }
  const want = url;
  img.dataset.src = want;
  authFetch(url)
    .then(async (res) => {
      if (!res.ok) throw new Error(String(res.status));
      const blobUrl = URL.createObjectURL(await res.blob());
      if (img.dataset.src !== want) return URL.revokeObjectURL(blobUrl);
      const done = () => setTimeout(() => URL.revokeObjectURL(blobUrl), 0);
      img.addEventListener("load", done, { once: true });
      img.addEventListener("error", done, { once: true });
      img.src = blobUrl;
    })
    .catch(() => {
      if (img.dataset.src === want) img.dispatchEvent(new Event("error"));
    });
}

/**
 * Opens an image of the API in a new tab. With a token it is fetched first (a link cannot send the
 * header) and opened from a blob: URL; returns false when the link can be followed as it is.
 */
export function openImage(url: string): boolean {
  if (!currentToken()) return false;
  void authFetch(url).then(async (res) => {
    if (!res.ok) return;
    const blobUrl = URL.createObjectURL(await res.blob());
    window.open(blobUrl, "_blank", "noopener");
    setTimeout(() => URL.revokeObjectURL(blobUrl), 60_000);
  });
  return true;
}

export const api = {
  stats: (): Promise<Stats> => call(`${BASE}/stats`),
  item: (id: string): Promise<Item> => call(`${BASE}/items/${encodeURIComponent(id)}`),
  /** The near-duplicates of an image item. */
  duplicates: (id: string): Promise<Ok<"/api/v1/items/{id}/duplicates", "get">> => call(`${BASE}/items/${encodeURIComponent(id)}/duplicates`),
  /** Search by text or by an item already in the collection. */
  search: (query: ({ text: string } | { item: string } | object) & Terms, opts: SearchOptions, signal?: AbortSignal): Promise<SearchResponse> =>
    call(`${BASE}/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...query, ...opts }),
      signal,
    }),
  /** The page after one (its `next` cursor): the server reuses the query's embedding. */
  more: (cursor: string, signal?: AbortSignal): Promise<SearchResponse> =>
    call(`${BASE}/search`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ cursor }), signal }),
  /** Search with an uploaded image file (the query, or with `role` a plus/minus term), and JSON terms. */
  searchImage: (file: Blob, opts: SearchOptions, signal?: AbortSignal, role: UploadRole = {}, terms: Terms = {}): Promise<SearchResponse> => {
    const form = new FormData();
    for (const [key, value] of Object.entries({ ...opts, ...role })) if (value !== undefined) form.append(key, Array.isArray(value) ? JSON.stringify(value) : String(value));
    if (terms.plus?.length) form.append("plus", JSON.stringify(terms.plus));
    if (terms.minus?.length) form.append("minus", JSON.stringify(terms.minus));
    form.append("image", file, file instanceof File ? file.name : "pasted-image");
    return call(`${BASE}/search/image`, { method: "POST", body: form, signal });
  },
};
