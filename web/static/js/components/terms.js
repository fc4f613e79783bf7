// @ts-check
/**
 * An event's terms (docs/suppliers.md, "Terms"): a supplier reads them and accepts them, by
 * their hash, before its first bid (`POST .../terms/acceptance`); until then the server refuses
 * its bids (`terms_not_accepted`), so the page shows the terms in place of the bid form. The
 * acceptance reaches the page through the live view (`terms_accepted`), which takes the terms
 * away again. The buyer sees who accepted which version.
 */
import { html, useState } from "../../vendor/ui.js";
import { t, dateTime } from "../i18n.js";
import { api, problemText } from "../api.js";
import { announce } from "./announcer.js";

/**
 * @param {{terms: import("../wire").TermsView, path: string}} props `path`: the event's API path
 *   (`/api/auctions/<id>` or `/api/tenders/<id>`)
 */
export function TermsGate({ terms, path }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(/** @type {string | null} */ (null));

  async function accept() {
    setBusy(true);
    setError(null);
    try {
      await api("POST", `${path}/terms/acceptance`, { terms_hash: terms.hash });
      announce(t("terms.accepted"));
    } catch (e) {
      setError(problemText(e));
    } finally {
      setBusy(false);
    }
  }

  return html`<section class="card terms" aria-labelledby="terms-title" data-testid="terms">
    <h2 id="terms-title">${t("terms.title", { version: terms.version })}</h2>
    <p class="notice">${t("terms.before_bidding")}</p>
    <div class="terms-text" tabindex="0" role="region" aria-label=${t("terms.text")}>${terms.text}</div>
    <p class="small muted">${t("terms.hash")} <code class="digest">${terms.hash}</code></p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <button type="button" class="primary" disabled=${busy} onClick=${accept}>${t("terms.accept")}</button>
  </section>`;
}

/**
 * What the buyer's list of suppliers says of one supplier's acceptance.
 * @param {ReadonlyArray<import("../wire").AcceptanceView> | null | undefined} acceptances
 * @param {string} supplier
 */
export function acceptanceText(acceptances, supplier) {
  const found = acceptances?.find((a) => a.supplier === supplier);
  if (!found) return t("terms.not_accepted");
  return t(found.current ? "terms.accepted_at" : "terms.accepted_old", { version: found.version, when: dateTime(found.at) });
}
