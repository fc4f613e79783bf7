// @ts-check
/**
 * Hash routes (`#/auctions/a1`): the page is one HTML file the server sends with a strict CSP,
 * and the fragment never reaches the server (a join link's token rides in it).
 *
 * A route names a page module, imported when first visited, so the supplier's live room never
 * downloads the buyer console's chart. A new page or format is a new module and a line in
 * `pages/index.js`; the shell does not change.
 */

/**
 * @typedef {object} Route
 * @property {string} pattern e.g. "/auctions/:id"
 * @property {() => Promise<{ default: import("../vendor/ui.js").FunctionComponent<any> }>} load
 * @property {string} title i18n key of the page's name
 * @property {ReadonlyArray<string>} [roles] who may open it; absent: anyone signed in
 * @property {boolean} [public] opens without signing in
 */

/**
 * @typedef {object} Match
 * @property {Route} route
 * @property {Record<string, string>} params
 * @property {URLSearchParams} query
 */

/** @returns {{path: string, query: URLSearchParams}} */
export function current() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const at = hash.indexOf("?");
  return at < 0
    ? { path: hash, query: new URLSearchParams() }
    : { path: hash.slice(0, at), query: new URLSearchParams(hash.slice(at + 1)) };
}

/**
 * @param {ReadonlyArray<Route>} routes @param {string} path
 * @returns {{route: Route, params: Record<string, string>} | null}
 */
export function match(routes, path) {
  const parts = path.split("/").filter(Boolean);
  for (const route of routes) {
    const pattern = route.pattern.split("/").filter(Boolean);
    if (pattern.length !== parts.length) continue;
    /** @type {Record<string, string>} */
    const params = {};
    const ok = pattern.every((piece, i) => {
      if (piece.startsWith(":")) {
        params[piece.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return piece === parts[i];
    });
    if (ok) return { route, params };
  }
  return null;
}

/** @param {string} path e.g. "/auctions/a1" */
export function go(path) {
  location.hash = `#${path}`;
}

/** @param {string} path */
export function href(path) {
  return `#${path}`;
}
