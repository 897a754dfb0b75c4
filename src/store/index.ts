/** The store layer: durable records of a collection in SQLite. */
export { Store, CHANGE_LOG_KEEP, type StoreChanges } from "./store.js";
export type { ItemRecord, NewItem, Pair, StoreOpenOptions, VerifyReport } from "./types.js";
export { APPLICATION_ID, DEFAULT_BLOCK_SIZE, MIGRATIONS, SCHEMA_VERSION, migrate, type Migration } from "./schema.js";
export { DB_FILE } from "./sqlite.js";
export type { CollectionStore, ItemPairs, StoreReader, StoreWriter } from "./api.js";
export { SqliteCollectionStore } from "./sqlite-collection.js";
export { PgCollectionStore, type PgStoreOptions } from "./pg.js";
export { isPgUrl } from "./pg-url.js";
export type { PgIndexInfo, PgIndexType, PgSearchOptions } from "./pg-search.js";
export { WHERE_OPS, checkWhere, isEmptyWhere, isoDate, whereKeys, type WhereCond, type WhereFilter, type WhereOp, type WhereValue } from "./where.js";
