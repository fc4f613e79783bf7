// @ts-check
/**
 * What is said to screen readers when events arrive (once each, politely): an extension, a
 * pause or resumption, a lot's close, the auction's close, an award. Bids are not announced to
 * everyone (a supplier hears its own rank change, from the room).
 */
import { t, clockTime } from "../../i18n.js";
import { announce } from "../../components/announcer.js";

/**
 * @param {any[]} events @param {any} view the view before these events (for lot titles)
 * @param {"buyer" | "supplier" | "observer"} role
 */
export function announceEvents(events, view, role) {
  const title = (/** @type {string} */ lotId) =>
    view?.lots?.find((/** @type {any} */ l) => l.lot_id === lotId)?.title ?? lotId;
  const said = [];
  for (const event of events) {
    switch (event.type) {
      case "lot_extended":
        said.push(t("announce.extended", { lot: title(event.lot_id), at: clockTime(event.end_at) }));
        break;
      case "lot_closed":
        said.push(t("announce.lot_closed", { lot: title(event.lot_id) }));
        break;
      case "auction_opened":
        said.push(t("announce.opened"));
        break;
      case "auction_closed":
        said.push(t("announce.closed"));
        break;
      case "auction_paused":
        said.push(t("announce.paused"));
        break;
      case "auction_resumed":
        said.push(t("announce.resumed"));
        break;
      case "auction_cancelled":
        said.push(t("announce.cancelled"));
        break;
      case "lot_awarded":
        said.push(role === "supplier" && event.yours
          ? t("announce.awarded_you", { lot: title(event.lot_id) })
          : t("announce.awarded", { lot: title(event.lot_id) }));
        break;
      case "bid_voided":
        if (role !== "buyer" && event.yours) said.push(t("announce.voided_yours", { lot: title(event.lot_id) }));
        break;
      default:
        break;
    }
  }
  if (said.length) announce(said.join(" "));
}
