// @ts-check
/**
 * Who is signed in: the bearer token of this tab, and what it says (role, organisation, name).
 *
 * The token lives in sessionStorage: each tab (a buyer and a supplier side by side) is its own
 * session, and it is gone when the tab closes. Its claims are read here only to label the page;
 * the server verifies the token on every request and socket, and decides what it may see.
 * A join link carries a supplier's token in the URL fragment (never sent to a server, never in
 * a log); the app moves it into the session and removes it from the address bar at once.
 */

const KEY = "bidserver.token";

/**
 * @typedef {object} Claims
 * @property {"buyer" | "supplier" | "observer" | "platform"} role
 * @property {string} org
 * @property {string} sub
 * @property {string} [name]
 * @property {number} exp seconds since the epoch
 */

/** @type {Set<() => void>} */
const listeners = new Set();

/** @param {string} token @returns {Claims | null} */
export function claimsOf(token) {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    if (typeof claims.role !== "string" || typeof claims.org !== "string") return null;
    return claims;
  } catch {
    return null;
  }
}

/** @returns {string | null} */
export function token() {
  return sessionStorage.getItem(KEY);
}

/** @returns {Claims | null} */
export function claims() {
  const current = token();
  return current ? claimsOf(current) : null;
}

/** @param {string} value */
export function signIn(value) {
  sessionStorage.setItem(KEY, value);
  for (const listener of listeners) listener();
}

export function signOut() {
  sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener();
}

/** @param {() => void} listener @returns {() => void} */
export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * A join link's token (`#/room/<id>?token=...`) into the session, and out of the address bar.
 * @returns {void}
 */
export function adoptTokenFromLink() {
  const hash = location.hash;
  const at = hash.indexOf("?");
  if (at < 0) return;
  const params = new URLSearchParams(hash.slice(at + 1));
  const linked = params.get("token");
  if (!linked) return;
  params.delete("token");
  const rest = params.toString();
  history.replaceState(null, "", hash.slice(0, at) + (rest ? `?${rest}` : ""));
  if (claimsOf(linked)) signIn(linked);
}
