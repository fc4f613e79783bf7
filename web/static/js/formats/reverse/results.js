// @ts-check
/**
 * Results: each lot's award (or why there is none yet), the whole bid history with the audit
 * trail the buyer's role shows (who placed, who voided, every refused attempt), the CSV export,
 * and a printable summary (print.css turns this page into one).
 */
import { html, useEffect, useState } from "../../../vendor/ui.js";
import { t, aliasText, money, dateTime } from "../../i18n.js";
import { api, download, problemText, reasonText } from "../../api.js";
import { href } from "../../router.js";
import { ScrollBox } from "../../components/scroll-box.js";

/** @param {{id: string}} props */
export default function Results({ id }) {
  const [view, setView] = useState(/** @type {any} */ (null));
  const [bids, setBids] = useState(/** @type {any[]} */ ([]));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const path = `/api/auctions/${encodeURIComponent(id)}`;

  useEffect(() => {
    Promise.all([api("GET", path), api("GET", `${path}/bids`)]).then(([answer, history]) => {
      setView(answer.view);
      setBids(history.bids);
    }, (e) => setError(problemText(e)));
  }, [id]);

  async function downloadCsv() {
    await download(`${path}/results.csv`, `${id}-results.csv`).catch((e) => setError(problemText(e)));
  }

  if (error) return html`<section><h1 tabindex="-1">${t("results.title")}</h1><p class="error" role="alert">${error}</p></section>`;
  if (!view) return html`<section><h1 tabindex="-1">${t("results.title")}</h1><p role="status" class="muted">${t("shell.loading")}</p></section>`;
  const fmt = (/** @type {number | null | undefined} */ v) => money(v, view.currency, view.minor_units);
  const names = new Map((view.suppliers ?? []).map((/** @type {any} */ s) => [s.supplier, s.name || s.supplier]));
  return html`<section class="results">
    <div class="title-row">
      <h1 tabindex="-1">${t("results.title")}: ${view.title}</h1>
      <span class=${`phase phase-${view.phase}`}>${t(`phases.${view.phase}`)}</span>
    </div>
    <p class="muted print-only">${t("results.printed", { at: dateTime(Date.now()) })}</p>
    <div class="actions-bar no-print">
      <a class="button" href=${href(`/auctions/${encodeURIComponent(id)}`)}>${t("results.back")}</a>
      <button type="button" onClick=${downloadCsv}>${t("results.csv")}</button>
      <button type="button" onClick=${() => window.print()}>${t("results.print")}</button>
    </div>
    <section class="card" aria-labelledby="awards-title">
      <h2 id="awards-title">${t("results.awards")}</h2>
      <${ScrollBox} label=${t("results.awards")}><table class="list" data-testid="awards">
        <thead><tr><th scope="col">${t("history.lot")}</th><th scope="col">${t("lot.ceiling")}</th>
          <th scope="col">${t("results.winner")}</th><th scope="col" class="num">${t("lot.amount")}</th>
          <th scope="col">${t("results.basis")}</th><th scope="col">${t("lot.savings")}</th></tr></thead>
        <tbody>${view.lots.map((/** @type {any} */ lot) => html`<tr>
          <th scope="row">${lot.title}</th><td>${fmt(lot.ceiling)}</td>
          ${lot.award ? html`<td>${names.get(lot.award.supplier) ?? aliasText(lot.award.alias)}</td>
            <td class="num">${fmt(lot.award.amount)}</td>
            <td>${t(`results.basis_${lot.award.basis}`)}${lot.award.reason ? ` — ${lot.award.reason}` : ""}</td>
            <td>${lot.award.amount != null ? fmt(lot.ceiling - lot.award.amount) : "—"}</td>`
            : html`<td colspan="4">${t(`lot_phases.${lot.phase}`)}</td>`}
        </tr>`)}</tbody>
      </table><//>
    </section>
    <section class="card" aria-labelledby="history-title">
      <h2 id="history-title">${t("results.history")} <span class="muted">(${bids.length})</span></h2>
      <${ScrollBox} label=${t("results.history")}><table class="list" data-testid="history">
        <thead><tr><th scope="col">${t("history.at")}</th><th scope="col">${t("history.lot")}</th>
          <th scope="col">${t("lot.supplier")}</th><th scope="col" class="num">${t("lot.amount")}</th>
          <th scope="col">${t("history.status")}</th><th scope="col">${t("history.by")}</th></tr></thead>
        <tbody>${bids.map((bid) => html`<tr class=${bid.status === "refused" || bid.voided ? "struck" : ""}>
          <td>${dateTime(bid.at)}</td><td>${bid.lot_id}</td>
          <td>${bid.name || names.get(bid.supplier) || bid.supplier || aliasText(bid.alias)}</td>
          <td class="num">${fmt(bid.amount)}</td>
          <td>${bid.status === "refused" ? `${t("history.refused")}: ${reasonText(bid.reason)}`
            : bid.voided ? `${t("history.voided")}${bid.void_reason ? `: ${bid.void_reason}` : ""}` : t("history.accepted")}</td>
          <td>${bid.entered_by ? t("console.phone_in") : ""}${bid.user ? ` ${bid.user}` : ""}</td>
        </tr>`)}</tbody>
      </table><//>
    </section>
  </section>`;
}
