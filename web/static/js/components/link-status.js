// @ts-check
/**
 * The live connection's state, said plainly: nothing while it is open, "reconnecting…" while
 * it retries (what is shown may be stale), and why it stopped when retrying cannot help (with the
 * way to sign in again when that is why).
 */
import { html } from "../../vendor/ui.js";
import { t } from "../i18n.js";
import { reasonText } from "../api.js";
import { href } from "../router.js";

/** @param {{snapshot: import("../live.js").LiveSnapshot}} props */
export function LinkStatus({ snapshot }) {
  const { link, closedReason } = snapshot;
  if (link === "open") {
    return html`<p class="link-state ok" data-testid="link-state" data-state="open">
      <span class="dot" aria-hidden="true"></span>${t("live.connected")}</p>`;
  }
  if (link === "closed") {
    return html`<p class="link-state bad" role="alert" data-testid="link-state" data-state="closed">
      ${t("live.closed")}: ${reasonText(closedReason ?? "internal_error")}
      ${closedReason === "expired_token" ? html` <a href=${href("/signin")} data-testid="sign-in-again">${t("signin.title")}</a>` : ""}</p>`;
  }
  return html`<p class="link-state warn" role="status" data-testid="link-state" data-state=${link}>
    <span class="dot" aria-hidden="true"></span>${t(link === "connecting" ? "live.connecting" : "live.reconnecting")}</p>`;
}
