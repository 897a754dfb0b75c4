/** The UI's client of the clipdb HTTP API (/api/v1). The UI talks to HTTP only. */

export type Modality = "image" | "text";
export type IndexKind = "auto" | "exact" | "ivf" | "hnsw";

/** One search hit, as /api/v1/search returns it. */
export interface Hit {
  rank: number;
  id: string;
  modality: Modality;
  score: number;
  path: string | null;
  text: string | null;
  meta: Record<string, unknown>;
  /** Captions of an image, or the image of a caption. */
  pairs: string[];
  /** An image's first caption. */
  caption: string | null;
}

export interface SearchResponse {
  results: Hit[];
  ms: number;
  index: IndexKind;
  scanned: number;
}

export interface Item {
  id: string;
  modality: Modality;
  path: string | null;
  text: string | null;
  meta: Record<string, unknown>;
  pairs: string[];
}

export interface Stats {
  images: number;
  texts: number;
  pairs: number;
  dim: number | null;
  model: string | null;
  indexes: { type: "ivf" | "hnsw"; modality: Modality; spec: string; size: number; pending: number; damaged?: string }[];
  bytes: number;
}

/** Options shared by every search. */
export interface SearchOptions {
  k: number;
  modality: Modality | "any";
  index: IndexKind;
  nprobe?: number;
  ef?: number;
}

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

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError("NETWORK", "The clipdb server cannot be reached. Is `clipdb serve` still running?", 0);
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

export const api = {
  stats: (): Promise<Stats> => call(`${BASE}/stats`),
  item: (id: string): Promise<Item> => call(`${BASE}/items/${encodeURIComponent(id)}`),
  /** Search by text or by an item already in the collection. */
  search: (query: { text: string } | { item: string }, opts: SearchOptions, signal?: AbortSignal): Promise<SearchResponse> =>
    call(`${BASE}/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...query, ...opts }),
      signal,
    }),
  /** Search with an uploaded image file. */
  searchImage: (file: Blob, opts: SearchOptions, signal?: AbortSignal): Promise<SearchResponse> => {
    const form = new FormData();
    for (const [key, value] of Object.entries(opts)) if (value !== undefined) form.append(key, String(value));
    form.append("file", file, file instanceof File ? file.name : "pasted-image");
    return call(`${BASE}/search/image`, { method: "POST", body: form, signal });
  },
};
