// @ts-check
/**
 * Each role's navigation and home, apart from the routes (`index.js`): the sign-in page, itself
 * a route, sends a new user home, and a module the routes load must not import the routes back.
 */

/**
 * The shell's navigation per role: [i18n key of the link, address]. The platform's reviewers see
 * no event: their home is the registry's queue.
 * @type {Readonly<Record<string, ReadonlyArray<[string, string]>>>}
 */
export const NAV = {
  buyer: [["auctions.title", "/auctions"], ["create.title", "/auctions/new"], ["registry.nav_search", "/suppliers"]],
  supplier: [["auctions.title", "/auctions"], ["registry.nav_own", "/supplier"]],
  observer: [["auctions.title", "/auctions"]],
  platform: [["registry.nav_queue", "/suppliers"]],
};

/** Where a role lands ("/" and the brand link). @param {string} role */
export function home(role) {
  return role === "platform" ? "/suppliers" : "/auctions";
}
