// STAC Browser settings for `stacforge serve --browser` (read at build time by `make browser`).
// It starts from the package's own defaults and changes only what serving next to a catalog
// needs; the options are described in STAC Browser's docs/options.md.
const defaults = require("@radiantearth/stac-browser/config.js");

// The catalog served by the same server: /catalog.json, or another root file of that origin
// named by ?root= (stacforge serve prints that URL). Nothing from other origins is opened.
function servedCatalog() {
  const origin = window.location.origin;
  const root = new URLSearchParams(window.location.search).get("root") || "catalog.json";
  const url = new URL(root, origin + "/");
  return url.origin === origin ? url.toString() : new URL("/catalog.json", origin).toString();
}
// The build also writes this option into index.html's og:url meta tag; the URL is only known
// in the page, so the tag stays empty.
servedCatalog.toString = () => "";

module.exports = {
  ...defaults,
  catalogTitle: "stacforge catalog",
  catalogUrl: servedCatalog,
  allowExternalAccess: false,
  // Served at /browser/ by a plain file server: hash routes need no URL rewriting.
  pathPrefix: "/browser/",
  historyMode: "hash",
  // No source maps: they would triple the size of the build that serve --browser ships.
  noSourceMaps: true,
};
