// @ts-check
/**
 * The supplier's live room: per lot the countdown on the server's clock, exactly what the
 * auction's visibility shows (your rank; the leading price or the anonymised board where
 * announced), and the bid form.
 *
 * The rules are the engine's: the form suggests `you.lots[].max_bid` (the highest amount the
 * decrement allows you now, sent by the server where it reveals nothing you may not know) and
 * explains a bid above it before sending it; a drop below `confirm_below` asks for confirmation
 * first. Whatever the server says wins: its refusal is shown in words, with the highest amount
 * it would accept.
 *
 * An auction with terms shows them, and the button to accept them, in place of the bid forms
 * until the supplier has accepted their current version. A supplier the registry restricts, or
 * does not admit in the auction's category, is told why here (its own record's words).
 */
import { html, useEffect, useState, useRef } from "../../../vendor/ui.js";
import { t, aliasText, money, parseAmount, amountInput, dateTime, percent } from "../../i18n.js";
import { api, reasonText } from "../../api.js";
import { useLiveRoom } from "../../components/use-live.js";
import { Countdown } from "../../components/countdown.js";
import { LinkStatus } from "../../components/link-status.js";
import { useConfirm } from "../../components/dialog.js";
import { announce } from "../../components/announcer.js";
import { announceEvents } from "./announce.js";
import { ScrollBox } from "../../components/scroll-box.js";
import { TermsGate } from "../../components/terms.js";
import { OwnStandingNotice } from "../../registry/standing-notice.js";
import { href } from "../../router.js";

/** @param {{id: string}} props */
export default function Room({ id }) {
  const [history, setHistory] = useState(/** @type {any[]} */ ([]));
  const [snapshot, room] = useLiveRoom(id, (events, s) => announceEvents(events, s.view, "supplier"));
  const [dialog, ask] = useConfirm();
  const { view, you } = snapshot;
  const ranks = useRef(/** @type {Record<string, number | null>} */ ({}));

  const loadHistory = () => api("GET", `/api/auctions/${encodeURIComponent(id)}/bids`)
    .then((h) => setHistory(h.bids), () => {});
  useEffect(() => { if (snapshot.link === "open") void loadHistory(); }, [snapshot.link]);

  // Say a change of your rank once (not on every update).
  useEffect(() => {
    if (!you || !view) return;
    for (const mine of you.lots) {
      const before = ranks.current[mine.lot_id];
      if (before !== undefined && mine.rank && before !== mine.rank) {
        const lot = view.lots.find((/** @type {any} */ l) => l.lot_id === mine.lot_id);
        announce(t("room.rank_changed", { lot: lot?.title ?? mine.lot_id, rank: mine.rank }));
      }
      ranks.current[mine.lot_id] = mine.rank ?? null;
    }
  }, [you]);

  if (!view) {
    // Refused the room (not invited, say): nothing about the auction, and where the supplier's
    // own record would tell it of a restriction.
    return html`<section><h1 tabindex="-1">${t("room.title")}</h1><${LinkStatus} snapshot=${snapshot} />
      ${snapshot.link === "closed" && html`<p data-testid="see-status">${t("room.see_your_status")}
        <a href=${href("/supplier")}>${t("registry.own_title")}</a></p>`}</section>`;
  }
  const phase = view.phase;
  const termsPending = Boolean(view.terms && you && you.terms_accepted === false);
  // Why the bid forms are not offered: the registry restricted you, or the terms come first.
  const blocked = you?.restricted ? t("registry.cannot_bid") : termsPending ? t("terms.accept_to_bid") : null;
  return html`<section class="room">
    <div class="title-row">
      <h1 tabindex="-1">${view.title}</h1>
      <span class=${`phase phase-${phase}`} data-testid="auction-phase">${t(`phases.${phase}`)}</span>
    </div>
    <${LinkStatus} snapshot=${snapshot} />
    <p class="muted">${t("room.you_are", { alias: aliasText(you?.alias) })} · ${t(`rules.visibility.${view.visibility}`)}
      · ${t(`rules.bid_rule.${view.bid_rule}`)} · ${decrementText(view)}</p>
    ${phase === "draft" && html`<p class="notice">${view.start_at ? t("room.starts_at", { at: dateTime(view.start_at) }) : t("room.not_started")}</p>`}
    ${phase === "paused" && html`<p class="notice" role="status">${t("room.paused")}</p>`}
    ${phase === "cancelled" && html`<p class="notice bad">${t("room.cancelled")}${view.cancel_reason ? `: ${view.cancel_reason}` : ""}</p>`}
    <${OwnStandingNotice} restricted=${you?.restricted} category=${view.category} />
    ${termsPending && view.terms && html`<${TermsGate} terms=${view.terms} path=${`/api/auctions/${encodeURIComponent(id)}`} />`}
    <div class="lots">
      ${view.lots.map((/** @type {any} */ lot) => html`<${LotCard} key=${lot.lot_id} lot=${lot} view=${view}
        mine=${you?.lots.find((/** @type {any} */ l) => l.lot_id === lot.lot_id)} room=${room} ask=${ask}
        linkOpen=${snapshot.link === "open"} blocked=${blocked} onAnswered=${loadHistory} />`)}
    </div>
    <${History} bids=${history} view=${view} />
    ${dialog}
  </section>`;
}

/** @param {any} view */
function decrementText(view) {
  const d = view.decrement;
  return t("room.decrement", {
    step: d.kind === "percent" ? percent(d.value) : money(d.value, view.currency, view.minor_units),
  });
}

/**
 * @param {{lot: any, view: any, mine: any, room: import("../../live.js").LiveRoom,
 *   ask: ReturnType<typeof useConfirm>[1], linkOpen: boolean, blocked: string | null, onAnswered: () => void}} props
 */
function LotCard({ lot, view, mine, room, ask, linkOpen, blocked, onAnswered }) {
  const cur = view.currency;
  const digits = view.minor_units;
  const suggestion = mine?.max_bid ?? null;
  const [text, setText] = useState(suggestion !== null ? amountInput(suggestion, digits) : "");
  const [touched, setTouched] = useState(false);
  const [result, setResult] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  const [sending, setSending] = useState(false);
  useEffect(() => {
    if (!touched && suggestion !== null) setText(amountInput(suggestion, digits));
  }, [suggestion]);

  const open = lot.phase === "open" && view.phase === "open";
  const amount = parseAmount(text, digits);
  /** What is wrong with the amount before it is sent (the server still decides). */
  /** @type {string | null} */
  let problem = null;
  if (text.trim() && amount === null) problem = t("room.errors.unreadable", { digits });
  else if (amount !== null && amount <= 0) problem = t("reasons.invalid_amount");
  else if (amount !== null && amount > lot.ceiling) problem = t("room.errors.above_ceiling", { max: money(lot.ceiling, cur, digits) });
  else if (amount !== null && suggestion !== null && amount > suggestion) problem = t("room.errors.above_max", { max: money(suggestion, cur, digits) });

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    if (amount === null || problem || !open) return;
    let confirm = false;
    if (mine?.confirm_below != null && amount < mine.confirm_below) {
      const answer = await ask({
        title: t("room.confirm_title"), confirm: t("room.confirm_button"),
        body: t("room.confirm_body", { amount: money(amount, cur, digits) }),
      });
      if (!answer) return;
      confirm = true;
    }
    setSending(true);
    setResult(null);
    let outcome = await room.bid(lot.lot_id, amount, { confirm });
    if (outcome.status === "rejected" && outcome.reason === "confirmation_required") {
      const answer = await ask({
        title: t("room.confirm_title"), confirm: t("room.confirm_button"),
        body: t("room.confirm_body", { amount: money(amount, cur, digits) }),
      });
      if (answer) outcome = await room.bid(lot.lot_id, amount, { confirm: true, bidId: outcome.bid_id });
      else { setSending(false); return; }
    }
    setSending(false);
    if (outcome.status === "accepted") {
      const said = t("room.accepted", { amount: money(amount, cur, digits), rank: outcome.rank });
      setResult({ ok: true, text: said });
      setTouched(false);
      announce(said);
    } else {
      const why = reasonText(outcome.reason ?? "internal_error");
      const max = outcome.max_amount != null ? ` ${t("room.max_accepted", { max: money(outcome.max_amount, cur, digits) })}` : "";
      setResult({ ok: false, text: `${t("room.refused")}: ${why}.${max}` });
    }
    onAnswered();
  }

  const inputId = `bid-${lot.lot_id}`;
  const savings = mine?.best != null ? lot.ceiling - mine.best : null;
  const won = mine?.awarded === true; // the shared view's award says nothing personal
  return html`<article class="lot card" aria-labelledby=${`${inputId}-title`} data-lot=${lot.lot_id}>
    <header class="lot-head">
      <h2 id=${`${inputId}-title`}>${lot.title}</h2>
      <span class=${`phase phase-${lot.phase}`}>${t(`lot_phases.${lot.phase}`)}</span>
    </header>
    <p class="muted">${lot.quantity} ${lot.unit} · ${t("lot.ceiling")} ${money(lot.ceiling, cur, digits)}</p>
    <dl class="figures">
      <div><dt>${t("lot.ends_in")}</dt><dd><${Countdown} endAt=${lot.end_at} serverNow=${() => room.serverNow()}
        running=${open} label=${t("lot.ends_in")} />${lot.extensions ? html` <span class="badge">${t("lot.extended", { count: lot.extensions })}</span>` : ""}</dd></div>
      <div><dt>${t("room.your_rank")}</dt><dd class="big" data-testid="your-rank">${mine?.rank ?? "—"}</dd></div>
      <div><dt>${t("room.your_best")}</dt><dd data-testid="your-best">${money(mine?.best, cur, digits)}</dd></div>
      ${view.visibility !== "rank_only" && html`<div><dt>${t("lot.leading")}</dt><dd data-testid="leading">${money(lot.leading_price, cur, digits)}</dd></div>`}
      ${savings !== null && html`<div><dt>${t("room.below_ceiling")}</dt><dd>${money(savings, cur, digits)}</dd></div>`}
    </dl>
    ${lot.award && html`<p class=${`notice ${won ? "good" : ""}`} data-testid="award">${won
      ? t("room.award_yours", { amount: money(lot.award.amount ?? mine?.best, cur, digits) }) : t("room.award_lost")}</p>`}
    ${lot.board && html`<${Board} lot=${lot} view=${view} alias=${room.snapshot.you?.alias} />`}
    ${open && blocked && html`<p class="hint" data-testid="no-bid-form">${blocked}</p>`}
    ${open && !blocked && html`<form class="bid-form" onSubmit=${submit} novalidate>
      <label for=${inputId}>${t("room.your_bid", { currency: cur })}</label>
      <div class="bid-row">
        <input id=${inputId} inputmode="decimal" autocomplete="off" value=${text}
          aria-invalid=${Boolean(problem)} aria-describedby=${`${inputId}-hint ${inputId}-problem`}
          onInput=${(/** @type {any} */ e) => { setText(e.currentTarget.value); setTouched(true); }} />
        <button type="submit" class="primary" disabled=${sending || !linkOpen || amount === null || Boolean(problem)}>
          ${sending ? t("room.sending") : t("room.place_bid")}</button>
      </div>
      <p class="hint" id=${`${inputId}-hint`}>${suggestion !== null ? t("room.suggested", { max: money(suggestion, cur, digits) }) : t("room.no_suggestion")}</p>
      <p class="error" id=${`${inputId}-problem`}>${problem ?? ""}</p>
    </form>`}
    ${result && html`<p class=${`result ${result.ok ? "good" : "bad"}`} role=${result.ok ? "status" : "alert"} data-testid="bid-result">${result.text}</p>`}
  </article>`;
}

/** The anonymised board (full_board visibility): aliases, never identities. */
function Board(/** @type {{lot: any, view: any, alias: string | undefined}} */ { lot, view, alias }) {
  return html`<table class="board">
    <caption>${t("lot.board")}</caption>
    <thead><tr><th scope="col">${t("lot.rank")}</th><th scope="col">${t("lot.supplier")}</th>
      <th scope="col" class="num">${t("lot.amount")}</th></tr></thead>
    <tbody>${lot.board.map((/** @type {any} */ row) => html`<tr class=${row.alias === alias ? "mine" : ""}>
      <td>${row.rank}</td><td>${aliasText(row.alias)}${row.alias === alias ? ` (${t("room.you")})` : ""}</td>
      <td class="num">${money(row.amount, view.currency, view.minor_units)}</td></tr>`)}</tbody>
  </table>`;
}

/** Your own bids, accepted and refused, from the server's history. */
function History(/** @type {{bids: any[], view: any}} */ { bids, view }) {
  if (!bids.length) return null;
  return html`<section class="card" aria-labelledby="history-title">
    <h2 id="history-title">${t("room.history")}</h2>
    <${ScrollBox} label=${t("room.history")}><table class="list">
      <thead><tr><th scope="col">${t("history.at")}</th><th scope="col">${t("history.lot")}</th>
        <th scope="col" class="num">${t("lot.amount")}</th><th scope="col">${t("history.status")}</th></tr></thead>
      <tbody>${[...bids].reverse().map((bid) => html`<tr>
        <td>${dateTime(bid.at)}</td><td>${bid.lot_id}</td>
        <td class="num">${money(bid.amount, view.currency, view.minor_units)}</td>
        <td>${bid.status === "refused" ? `${t("history.refused")}: ${reasonText(bid.reason)}` : t(bid.voided ? "history.voided" : "history.accepted")}</td>
      </tr>`)}</tbody>
    </table><//>
  </section>`;
}
