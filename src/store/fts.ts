/**
 * Keyword search over text items (issue 12, hybrid search): the schema steps that index every
 * text item's words, in SQLite with FTS5 and in Postgres with a tsvector column and a GIN index,
 * and the translation of a user's query into each engine's query language.
 *
 * Both indexes are kept by the database itself (SQLite triggers on `items`; a Postgres generated
 * column), so they change in the same transaction as the add or remove that changes the items,
 * and a kill at any point leaves items and keywords in step.
 *
 * Query semantics, the same on both stores: words are stemmed (Porter in SQLite, the `english`
 * configuration in Postgres) and OR-ed, ranked by BM25 (SQLite) or ts_rank (Postgres), so a rare
 * word weighs more than a common one; a "quoted phrase" must appear as written (words in order).
 */
import type { Db } from "./sqlite.js";

/**
 * SQLite schema step: the external-content FTS5 table `items_fts` (rowid = item offset) over
 * the text of text items, the triggers that keep it in step with `items`, and the index of the
 * text items already stored (so an existing collection gains keyword search when it is opened).
 * Tokenizer: `porter unicode61 remove_diacritics 2` (lower-cased, accents folded, stemmed).
 */
export function createSqliteFts(db: Db): void {
  db.exec(`
    CREATE VIRTUAL TABLE items_fts USING fts5(
      text, content='items', content_rowid='offset', tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER items_fts_insert AFTER INSERT ON items
      WHEN new.modality = 'text' AND new.text IS NOT NULL
    BEGIN
      INSERT INTO items_fts (rowid, text) VALUES (new.offset, new.text);
    END;
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items
      WHEN old.modality = 'text' AND old.text IS NOT NULL
    BEGIN
      INSERT INTO items_fts (items_fts, rowid, text) VALUES ('delete', old.offset, old.text);
    END;
    CREATE TRIGGER items_fts_update AFTER UPDATE OF text, modality ON items
    BEGIN
      INSERT INTO items_fts (items_fts, rowid, text) SELECT 'delete', old.offset, old.text WHERE old.modality = 'text' AND old.text IS NOT NULL;
      INSERT INTO items_fts (rowid, text) SELECT new.offset, new.text WHERE new.modality = 'text' AND new.text IS NOT NULL;
    END;
    INSERT INTO items_fts (rowid, text) SELECT offset, text FROM items WHERE modality = 'text' AND text IS NOT NULL;
  `);
}

/** The SQL of the SQLite keyword query: `?1` the MATCH expression, `?2` the limit; best (lowest bm25) first. */
export const SQLITE_KEYWORD_SQL = "SELECT rowid AS o, bm25(items_fts) AS s FROM items_fts WHERE items_fts MATCH ? ORDER BY s LIMIT ?";

/**
 * English words too common to rank by, left out of unquoted query words (as Postgres's `english`
 * configuration does), so "a dog with a frisbee" ranks by "dog" and "frisbee" rather than by
 * every caption holding "a". A short list: the most frequent words of image captions.
 */
const STOPWORDS = new Set(
  "a an the and or of in on at to with by for from is are was were be been it its this that there these those as into onto over under near his her their our your my some".split(" "),
);

/**
 * The terms of a query: "quoted phrases" kept whole, other words one by one, stopwords left out
 * unless every word is one (at most 64 terms).
 */
export function queryTerms(query: string): string[] {
  const terms: string[] = [];
  const re = /"([^"]*)"|([^\s"]+)/g;
  for (let m = re.exec(query); m !== null && terms.length < 64; m = re.exec(query)) {
    const t = (m[1] ?? m[2]).trim();
    // Only words count: a term of punctuation alone matches nothing and would be a syntax error.
    if (/[\p{L}\p{N}]/u.test(t)) terms.push(m[1] !== undefined ? `"${t}` : t);
  }
  const content = terms.filter((t) => t.startsWith('"') || !STOPWORDS.has(t.toLowerCase()));
  return (content.length > 0 ? content : terms).map((t) => (t.startsWith('"') ? t.slice(1) : t));
}

/**
 * The FTS5 MATCH expression of a user's query: each term quoted as an FTS5 string (so operators
 * and punctuation in the query are plain text, never syntax) and OR-ed. Null when the query has
 * no word, which matches nothing.
 */
export function sqliteMatch(query: string): string | null {
  const terms = queryTerms(query);
  if (terms.length === 0) return null;
  return terms.map((t) => `"${t.replace(/"/g, '""')}"`).join(" OR ");
}

/**
 * The Postgres text of the same query for `websearch_to_tsquery`: terms quoted, joined by "or",
 * so phrases stay phrases and every other word is an alternative. Null when the query has no word.
 */
export function pgWebsearch(query: string): string | null {
  const terms = queryTerms(query);
  if (terms.length === 0) return null;
  return terms.map((t) => (t.includes(" ") ? `"${t.replace(/"/g, " ")}"` : t.replace(/[-"]/g, " "))).join(" or ");
}

/**
 * Postgres schema step (over the items table `items`, schema-qualified): a stored generated
 * tsvector of each text item's text (`english` configuration), and a GIN index on it. Adding the
 * column computes it for the rows already stored.
 */
export function pgFtsSql(items: string): string {
  return `
    ALTER TABLE ${items} ADD COLUMN tsv tsvector
      GENERATED ALWAYS AS (CASE WHEN modality = 'text' THEN to_tsvector('english', coalesce(text, '')) END) STORED;
    CREATE INDEX items_tsv ON ${items} USING gin (tsv);
  `;
}

/** The SQL of the Postgres keyword query: `$1` the websearch text, `$2` the limit; best first. */
export function pgKeywordSql(items: string): string {
  return `SELECT "offset"::text AS o, ts_rank(tsv, q) AS s
            FROM ${items}, websearch_to_tsquery('english', $1) q
           WHERE tsv @@ q
           ORDER BY s DESC, "offset" LIMIT $2`;
}
