// @ts-check
/**
 * The auctions the signed-in organisation may list, newest first, with their state: a buyer's
 * own (and a button to create one), a supplier's invitations (each opening its live room).
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { t, dateTime } from "../i18n.js";
import { api, problemText } from "../api.js";
import { claims } from "../session.js";
import { href } from "../router.js";
import { ScrollBox } from "../components/scroll-box.js";

export default function Auctions() {
  const who = claims();
  const [rows, setRows] = useState(/** @type {any[] | null} */ (null));
  const [cursor, setCursor] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));

  /** @param {string | null} from */
  async function load(from) {
    try {
      const page = await api("GET", `/api/auctions?limit=50${from ? `&cursor=${encodeURIComponent(from)}` : ""}`);
      setRows((previous) => [...(from && previous ? previous : []), ...page.auctions]);
      setCursor(page.next_cursor);
    } catch (e) {
      setError(problemText(e));
    }
  }
  useEffect(() => { void load(null); }, []);

  const supplier = who?.role === "supplier";
  /** A tender's page serves every role; an auction has the buyer's console and the supplier's room.
   * @param {any} row */
  const link = (row) => href(`/${row.format === "sealed_tender" ? "tenders" : supplier ? "room" : "auctions"}/${encodeURIComponent(row.auction_id)}`);
  /** @param {any} row */
  const phase = (row) => t(row.format === "sealed_tender" ? `tender.phases.${row.phase}` : `phases.${row.phase}`);
  return html`<section>
    <div class="title-row">
      <h1 tabindex="-1">${t("auctions.title")}</h1>
      ${who?.role === "buyer" && html`<a class="button primary" href=${href("/auctions/new")}>${t("create.title")}</a>`}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${rows === null && !error && html`<p role="status" class="muted">${t("shell.loading")}</p>`}
    ${rows && rows.length === 0 && html`<p class="muted">${t(supplier ? "auctions.none_invited" : "auctions.none")}</p>`}
    ${rows && rows.length > 0 && html`<${ScrollBox} label=${t("auctions.title")}><table class="list">
      <caption class="sr-only">${t("auctions.title")}</caption>
      <thead><tr><th scope="col">${t("auctions.name")}</th><th scope="col">${t("auctions.state")}</th>
        <th scope="col">${t("auctions.created")}</th>
        ${!supplier && html`<th scope="col">${t("auctions.suppliers")}</th>`}</tr></thead>
      <tbody>${rows.map((row) => html`<tr>
        <th scope="row"><a href=${link(row)}>${row.title}</a></th>
        <td><span class=${`phase phase-${row.phase}`}>${phase(row)}</span></td>
        <td>${dateTime(row.created_at)}</td>
        ${!supplier && html`<td>${row.suppliers ? row.suppliers.length : "—"}</td>`}
      </tr>`)}</tbody>
    </table><//>`}
    ${cursor && html`<button type="button" onClick=${() => load(cursor)}>${t("auctions.more")}</button>`}
  </section>`;
}
