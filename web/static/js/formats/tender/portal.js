// @ts-check
/**
 * A sealed tender's page, for everyone it concerns: the notice (lots, schedule, documents by
 * hash, award criteria), the published answers, the countdown to the deadline on the server's
 * clock, and after the opening the record and the result. What each role may do is drawn by its
 * own module: the supplier's bid and questions (`supplier.js`), the buyer's, officers' and
 * evaluators' desk (`desk.js`).
 *
 * Everything shown comes from the tender's view as the server's engine made it for the signed-in
 * user: before the deadline it holds nothing about other bids, so the page cannot show any.
 */
import { html } from "../../../vendor/ui.js";
import { t, money, dateTime } from "../../i18n.js";
import { useLiveRoom } from "../../components/use-live.js";
import { Countdown } from "../../components/countdown.js";
import { LinkStatus } from "../../components/link-status.js";
import { ScrollBox } from "../../components/scroll-box.js";
import { href } from "../../router.js";
import { SupplierDesk } from "./supplier.js";
import { Desk } from "./desk.js";
import { RfqComparison } from "./comparison.js";

/** @typedef {import("../../wire").TenderView} TenderView */
/** @typedef {import("../../wire").BidderView} BidderView */

/** @param {{id: string}} props */
export default function Portal({ id }) {
  const [snapshot, room] = useLiveRoom(id);
  // The live room carries each format's own views; this page is the sealed tender's.
  const view = /** @type {TenderView | null} */ (/** @type {unknown} */ (snapshot.view));
  const you = /** @type {BidderView | null} */ (/** @type {unknown} */ (snapshot.you));
  if (!view) {
    return html`<section><h1 tabindex="-1">${t("tender.title")}</h1><${LinkStatus} snapshot=${snapshot} /></section>`;
  }
  /** @param {number | null | undefined} minor */
  const fmt = (minor) => money(minor, view.currency, view.minor_units);
  const serverNow = () => room.serverNow();
  const phase = view.phase;
  const deadline = view.schedule.submission_deadline_at;
  return html`<section class="tender">
    <div class="title-row">
      <h1 tabindex="-1">${view.title}</h1>
      <span class=${`phase phase-${phase}`} data-testid="tender-phase">${t(`tender.phases.${phase}`)}</span>
    </div>
    <${LinkStatus} snapshot=${snapshot} />
    <p class="muted">${view.buyer_name ?? ""}${view.buyer_name ? " · " : ""}${t(`tender.profiles.${view.profile}`)} · ${t(`tender.procedures.${view.procedure}`)} · ${t(`tender.award_kind.${view.award.kind}`)}</p>
    ${view.requested_certificates.length > 0 && html`<p>${t("rfq.requested", { certificates: view.requested_certificates.join(", ") })}</p>`}
    ${view.ended_reason && html`<p class="notice bad">${view.ended_reason}</p>`}
    ${view.follow_on_auction && html`<p class="notice good" data-testid="follow-on">${t("tender.follow_on_running")}
      <a href=${href(`/${you ? "room" : "auctions"}/${encodeURIComponent(view.follow_on_auction)}`)}>${t("tender.follow_on_open")}</a></p>`}

    <dl class="figures">
      <div><dt>${t("tender.deadline_in")}</dt><dd><${Countdown} endAt=${deadline} serverNow=${serverNow}
        running=${phase === "published" || phase === "submission"} label=${t("tender.deadline_in")} /></dd></div>
      <div><dt>${t("tender.enquiry_end")}</dt><dd>${dateTime(view.schedule.enquiry_end_at)}</dd></div>
      <div><dt>${t("tender.deadline")}</dt><dd data-testid="deadline">${dateTime(deadline)}</dd></div>
      <div><dt>${t("tender.opening_at")}</dt><dd>${dateTime(view.schedule.opening_at)}</dd></div>
      <div><dt>${t("tender.opening_by")}</dt><dd>${t("tender.k_of_n", { k: view.k, n: view.n })}</dd></div>
      ${view.received !== null && view.received !== undefined && html`<div><dt>${t("tender.received")}</dt>
        <dd data-testid="received">${view.received}</dd></div>`}
    </dl>
    <p class="small muted">${t("tender.documents")}: <code class="digest" data-testid="documents-hash">${view.documents_hash}</code></p>

    <section class="card" aria-labelledby="lots-title">
      <h2 id="lots-title">${t("tender.lots")}</h2>
      <${ScrollBox} label=${t("tender.lots")}><table class="list">
        <thead><tr><th scope="col">${t("tender.lot")}</th><th scope="col" class="num">${t("tender.quantity")}</th>
          <th scope="col" class="num">${t("tender.estimated")}</th></tr></thead>
        <tbody>${view.lots.map((/** @type {any} */ lot) => html`<tr>
          <th scope="row">${lot.title} <span class="muted small">${lot.lot_id}</span></th>
          <td class="num">${lot.quantity} ${lot.unit}</td><td class="num">${fmt(lot.estimated_value)}</td></tr>`)}</tbody>
      </table><//>
      ${view.award.kind === "meat" && html`<p>${t("tender.criteria")}:
        ${view.award.criteria.map((c) => `${c.name} ${c.weight}`).join(" · ")}</p>`}
      ${view.bid_security && html`<p>${t("tender.bid_security", { amount: fmt(view.bid_security) })}</p>`}
    </section>

    <section class="card" aria-labelledby="answers-title">
      <h2 id="answers-title">${t("tender.answers")}</h2>
      ${view.answers.length === 0 ? html`<p class="muted">${t("tender.no_answers")}</p>`
        : html`<ol class="answers" data-testid="answers">${view.answers.map((a) => html`<li>
          <p><strong>${a.question}</strong></p><p>${a.answer}</p>
          <p class="muted small">${dateTime(a.at)}</p></li>`)}</ol>`}
    </section>

    ${you && html`<${SupplierDesk} id=${id} view=${view} you=${you} fmt=${fmt} />`}
    ${!you && html`<${Desk} id=${id} view=${view} fmt=${fmt} />`}
    ${view.procedure === "rfq" && view.buyer && view.opening && html`<${RfqComparison} id=${id}
      version=${`${phase} ${JSON.stringify(view.qualifications)}`} />`}
    <${Opening} view=${view} fmt=${fmt} />
    <${Result} view=${view} you=${you} fmt=${fmt} />
  </section>`;
}

/** The opening record, the same for every bidder at once: each name and price, or why a bid
 * did not open. @param {{view: import("../../wire").TenderView, fmt: (m: number | null | undefined) => string}} props */
function Opening({ view, fmt }) {
  if (!view.opening) {
    return view.shares_presented !== null && view.shares_presented !== undefined
      ? html`<p class="notice" data-testid="shares-presented">${t("tender.shares_presented", { given: view.shares_presented, k: view.k })}</p>`
      : null;
  }
  const lots = view.lots.map((l) => l.lot_id);
  return html`<section class="card" aria-labelledby="opening-title">
    <h2 id="opening-title">${t("tender.opening")} <span class="muted small">${dateTime(view.opening.opened_at)}</span></h2>
    <${ScrollBox} label=${t("tender.opening")}><table class="list" data-testid="opening-record">
      <thead><tr><th scope="col">${t("tender.bidder")}</th>
        ${lots.map((l) => html`<th scope="col" class="num">${l}</th>`)}
        <th scope="col">${t("tender.received_at")}</th></tr></thead>
      <tbody>${view.opening.record.map((b) => html`<tr>
        <th scope="row">${b.name || b.supplier}</th>
        ${b.failed ? html`<td colspan=${lots.length} class="bad">${t("tender.failed")}: ${b.failed}</td>`
          : lots.map((l) => html`<td class="num">${fmt(b.prices.find((p) => p.lot_id === l)?.price)}</td>`)}
        <td>${dateTime(b.received_at)}</td></tr>`)}</tbody>
    </table><//>
  </section>`;
}

/** The award decision (during the standstill) and the final awards.
 * @param {{view: import("../../wire").TenderView, you: import("../../wire").BidderView | null,
 *   fmt: (m: number | null | undefined) => string}} props */
function Result({ view, you, fmt }) {
  if (!view.decision && view.awards.length === 0) return null;
  // Bidders by name once the opening record has named them.
  // (An RFQ's supplier has no record, only its own opened quote.)
  const names = Object.fromEntries((view.opening?.record ?? (you?.quote ? [you.quote] : []))
    .map((b) => [b.supplier, b.name || b.supplier]));
  /** @param {string} supplier */
  const named = (supplier) => names[supplier] ?? supplier;
  return html`<section class="card" aria-labelledby="result-title">
    <h2 id="result-title">${t("tender.result")}</h2>
    ${view.decision && html`<p data-testid="standstill">${view.decision.held ? t("tender.standstill_held")
      : t("tender.standstill_until", { when: dateTime(view.decision.standstill_ends_at) })}</p>
      <ul>${view.decision.lots.map((d) => html`<li>${d.lot_id}: ${d.winner
        ? t("tender.winner", { supplier: named(d.winner), price: fmt(d.price) }) : t("tender.no_winner")}</li>`)}</ul>
      ${view.decision.lots.filter((d) => d.ranking.length > 1).map((d) => html`<${Ranking} lot=${d}
        named=${named} fmt=${fmt} criteria=${view.award.criteria} />`)}`}
    ${view.awards.length > 0 && html`<ul data-testid="awards">${view.awards.map((a) => html`<li>
      ${t("tender.awarded", { lot: a.lot_id, supplier: named(a.supplier), price: fmt(a.price) })}</li>`)}</ul>`}
  </section>`;
}

/** A lot's ranking, explained: each bid's price and, for the price-quality ratio, its points
 * per published criterion (hundredths of a point, shown to two decimals) and in total; the
 * abnormally low flag where the engine sets it (the buyer's only, EU Art. 69).
 * @param {{lot: import("../../wire").LotDecision, named: (s: string) => string,
 *   fmt: (m: number | null | undefined) => string, criteria: import("../../wire").Criterion[]}} props */
function Ranking({ lot, named, fmt, criteria }) {
  /** @param {number | null | undefined} hundredths */
  const points = (hundredths) => (hundredths === null || hundredths === undefined ? "—" : (hundredths / 100).toFixed(2));
  return html`<${ScrollBox} label=${t("tender.ranking", { lot: lot.lot_id })}><table class="list" data-testid="ranking">
    <caption>${t("tender.ranking", { lot: lot.lot_id })}</caption>
    <thead><tr><th scope="col">${t("tender.rank")}</th><th scope="col">${t("tender.bidder")}</th>
      <th scope="col" class="num">${t("tender.price")}</th>
      ${criteria.map((c) => html`<th scope="col" class="num">${c.name} (${c.weight})</th>`)}
      ${criteria.length > 0 && html`<th scope="col" class="num">${t("tender.points")}</th>`}</tr></thead>
    <tbody>${lot.ranking.map((r) => html`<tr>
      <td>${r.rank}</td>
      <th scope="row">${named(r.supplier)}${r.abnormally_low ? html` <span class="badge">${t("tender.abnormally_low")}</span>` : ""}</th>
      <td class="num">${fmt(r.price)}</td>
      ${criteria.map((c) => html`<td class="num">${points(r.points.find((p) => p.criterion === c.name)?.points)}</td>`)}
      ${criteria.length > 0 && html`<td class="num"><strong>${points(r.total)}</strong></td>`}
    </tr>`)}</tbody>
  </table><//>`;
}
