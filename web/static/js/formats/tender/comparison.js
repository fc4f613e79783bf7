// @ts-check
/**
 * An RFQ's side-by-side comparison (比价) for the buyer's team, once the quotes are opened: per
 * line item each supplier's line and unit price, then each supplier's total, delivery time,
 * validity and certificates. The engine computes it (`engine/tender/comparison.py`, served at
 * `GET /api/tenders/{id}/comparison`); the page only draws it. Cheapest, fastest and best
 * certified are marked in words as well as by style, so they do not rest on colour alone.
 */
import { html, useEffect, useState } from "../../../vendor/ui.js";
import { t, money, dateTime } from "../../i18n.js";
import { api, download, problemText } from "../../api.js";
import { ScrollBox } from "../../components/scroll-box.js";

/** @typedef {import("../../wire").Comparison} Comparison */

/** @param {{id: string, version: string}} props fetched again when the version (what the
 * comparison depends on: the phase, the qualifications) moves */
export function RfqComparison({ id, version }) {
  const [comparison, setComparison] = useState(/** @type {Comparison | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const path = `/api/tenders/${encodeURIComponent(id)}/comparison`;
  useEffect(() => {
    api("GET", path).then((c) => { setComparison(c); setError(null); }, (e) => setError(problemText(e)));
  }, [id, version]);

  async function downloadCsv() {
    await download(`${path}.csv`, `${id}-comparison.csv`).catch((e) => setError(problemText(e)));
  }

  if (error) return html`<section class="card"><h2>${t("rfq.comparison")}</h2><p class="error" role="alert">${error}</p></section>`;
  if (!comparison) return null;
  const c = comparison;
  /** @param {number | null | undefined} minor */
  const fmt = (minor) => money(minor, c.currency, c.minor_units);
  /** @param {boolean} on @param {string} key */
  const mark = (on, key) => (on ? html` <span class="badge best">${t(key)}</span>` : "");
  return html`<section class="card" aria-labelledby="comparison-title">
    <h2 id="comparison-title">${t("rfq.comparison")}</h2>
    <p>${t("rfq.summary", { cheapest: names(c, c.cheapest?.suppliers), fastest: names(c, c.fastest?.suppliers),
      certified: names(c, c.best_certified?.suppliers) })}</p>
    <${ScrollBox} label=${t("rfq.comparison")}><table class="list comparison" data-testid="comparison">
      <thead><tr><th scope="col">${t("rfq.line")}</th>
        ${c.suppliers.map((s) => html`<th scope="col" class="num">${s.name || s.supplier}
          <div class="muted small">${t(`rfq.status.${s.status}`)}</div></th>`)}</tr></thead>
      <tbody>
        ${c.lines.map((line) => html`<tr>
          <th scope="row">${line.title} <span class="muted small">${line.quantity} ${line.unit}</span></th>
          ${c.suppliers.map((s) => {
            const quote = line.quotes.find((q) => q.supplier === s.supplier);
            return quote ? html`<td class=${`num ${quote.cheapest ? "best" : ""}`}>${fmt(quote.line_price)}${mark(quote.cheapest, "rfq.cheapest")}
              <div class="muted small">${t("rfq.unit_price", { price: fmt(quote.unit_price), unit: line.unit })}</div></td>`
              : html`<td class="num muted">${t("rfq.not_quoted")}</td>`;
          })}</tr>`)}
        <tr><th scope="row">${t("rfq.total")}</th>${c.suppliers.map((s) => html`<td class=${`num ${s.cheapest ? "best" : ""}`}
          data-testid="total"><strong>${fmt(s.total)}</strong>${mark(s.cheapest, "rfq.cheapest")}
          ${!s.complete ? html`<div class="muted small">${t("rfq.incomplete")}</div>` : ""}</td>`)}</tr>
        <tr><th scope="row">${t("rfq.delivery")}</th>${c.suppliers.map((s) => html`<td class=${`num ${s.fastest ? "best" : ""}`}>
          ${t("rfq.days", { count: s.delivery_days })}${mark(s.fastest, "rfq.fastest")}</td>`)}</tr>
        <tr><th scope="row">${t("rfq.validity")}</th>${c.suppliers.map((s) => html`<td class="num">${t("rfq.days", { count: s.validity_days })}</td>`)}</tr>
        <tr><th scope="row">${t("rfq.certificates")}</th>${c.suppliers.map((s) => html`<td class=${s.best_certified ? "best" : ""}>
          ${s.certificates.join(", ") || "—"}${mark(s.best_certified, "rfq.best_certified")}</td>`)}</tr>
        <tr><th scope="row">${t("tender.received_at")}</th>${c.suppliers.map((s) => html`<td>${dateTime(s.received_at)}</td>`)}</tr>
      </tbody>
    </table><//>
    ${c.not_opened.length > 0 && html`<p class="warning">${t("rfq.not_opened")}: ${c.not_opened.map((n) => `${n.name || n.supplier} (${n.reason})`).join("; ")}</p>`}
    <button type="button" onClick=${downloadCsv}>${t("rfq.csv")}</button>
  </section>`;
}

/** The names of the suppliers a highlight lists. @param {Comparison} c @param {string[] | undefined} ids */
function names(c, ids) {
  if (!ids || ids.length === 0) return "—";
  return ids.map((id) => c.suppliers.find((s) => s.supplier === id)?.name || id).join(", ");
}
