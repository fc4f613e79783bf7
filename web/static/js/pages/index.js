// @ts-check
/**
 * Every page of the UI: its address, who may open it, and the module that draws it (imported on
 * first visit). Sealed tenders, RFQs and supplier admission add their lines here; each role's
 * navigation is `nav.js`.
 */

/** @type {ReadonlyArray<import("../router.js").Route>} */
export const ROUTES = [
  { pattern: "/signin", load: () => import("./signin.js"), title: "signin.title", public: true },
  { pattern: "/", load: () => import("./auctions.js"), title: "auctions.title" },
  { pattern: "/auctions", load: () => import("./auctions.js"), title: "auctions.title" },
  {
    pattern: "/auctions/new", load: () => import("../formats/reverse/create.js"),
    title: "create.title", roles: ["buyer"],
  },
  {
    pattern: "/auctions/:id", load: () => import("../formats/reverse/console.js"),
    title: "console.title", roles: ["buyer", "observer"],
  },
  {
    pattern: "/auctions/:id/results", load: () => import("../formats/reverse/results.js"),
    title: "results.title", roles: ["buyer", "observer"],
  },
  {
    pattern: "/room/:id", load: () => import("../formats/reverse/room.js"),
    title: "room.title", roles: ["supplier"],
  },
  { pattern: "/tenders/:id", load: () => import("../formats/tender/portal.js"), title: "tender.title" },
  {
    pattern: "/supplier", load: () => import("../registry/own.js"),
    title: "registry.own_title", roles: ["supplier"],
  },
  {
    pattern: "/suppliers", load: () => import("../registry/queue.js"),
    title: "registry.queue_title", roles: ["platform", "buyer"],
  },
  {
    pattern: "/suppliers/:id", load: () => import("../registry/review.js"),
    title: "registry.record_title", roles: ["platform", "buyer"],
  },
];

