/**
 * The one-way layering of clipdb (see ../shared/design/architecture.md):
 * core <- embed | store | index <- query <- collection <- server | cli.
 * Each rule forbids a layer from importing the layers that sit above it or beside it.
 */
const layer = (name) => `^src/${name}/`;
const forbid = (from, to, comment) => ({
  name: `${from}-not-to-${to.join("-")}`,
  comment,
  severity: "error",
  from: { path: layer(from) },
  to: { path: `^src/(${to.join("|")})/` },
});

module.exports = {
  forbidden: [
    forbid("core", ["embed", "store", "index", "query", "collection", "server", "cli"], "core imports nothing of ours"),
    forbid("embed", ["store", "index", "query", "collection", "server", "cli"], "embed sees only core"),
    forbid("store", ["embed", "index", "query", "collection", "server", "cli"], "store never imports index"),
    forbid("index", ["embed", "store", "query", "collection", "server", "cli"], "index knows nothing of records"),
    forbid("query", ["collection", "server", "cli"], "query sits below collection"),
    forbid("collection", ["server", "cli"], "collection is below its front ends"),
    forbid("server", ["cli", "store", "index", "embed"], "server talks to collection (or query) only"),
    forbid("cli", ["store", "index", "embed"], "cli talks to collection (or query) only; it may start the server (clipdb serve)"),
    {
      name: "web-talks-http-only",
      comment: "the web UI reaches clipdb over HTTP only: it imports nothing of src/ (nor tests, benches or scripts)",
      severity: "error",
      from: { path: "^web/" },
      to: { path: "^(src|test|bench|scripts)/" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
