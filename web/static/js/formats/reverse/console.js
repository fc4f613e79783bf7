// @ts-check
/**
 * The buyer's console for one reverse auction: invitations and join links, the start, and the
 * live view of every lot (the full board with identities, prices over time, savings against the
 * ceiling, the countdown on the server's clock), each supplier's connection, and the buyer's
 * actions. What cannot be undone (cancel, void, award) asks first; every refusal is the
 * server's, in words. Observers get the same page, read-only and anonymised by the server.
 */
import { html, useEffect, useMemo, useRef, useState } from "../../../vendor/ui.js";
import { t, aliasText, money, dateTime, percent, number, parseAmount, ago, language } from "../../i18n.js";
import { api, reasonText, problemText } from "../../api.js";
import { claims } from "../../session.js";
import { href } from "../../router.js";
import { useLiveRoom } from "../../components/use-live.js";
import { Countdown } from "../../components/countdown.js";
import { LinkStatus } from "../../components/link-status.js";
import { useConfirm } from "../../components/dialog.js";
import { Field } from "../../components/field.js";
import { PriceChart, PriceSeries } from "../../components/price-chart.js";
import { announceEvents } from "./announce.js";
import { ScrollBox } from "../../components/scroll-box.js";
import { acceptanceText } from "../../components/terms.js";
import { InvitePicker } from "../../registry/invite-picker.js";
import { reasonText as standingWords } from "../../registry/words.js";

/** Prices over time per lot, fed by the bid history once and then by the live events. */
function usePriceHistory(/** @type {string} */ auctionId) {
  const store = useRef({
    /** @type {Map<string, PriceSeries>} */ lots: new Map(),
    lastSeq: -1, ready: false, buffered: /** @type {any[]} */ ([]),
  });
  const [, setVersion] = useState(0); // a new price re-renders the console (each series has its own version)
  const series = (/** @type {string} */ lotId) => {
    let s = store.current.lots.get(lotId);
    if (!s) { s = new PriceSeries(); store.current.lots.set(lotId, s); }
    return s;
  };
  /** @param {any[]} events */
  const apply = (events) => {
    const s = store.current;
    if (!s.ready) { s.buffered.push(...events); return; }
    let changed = false;
    for (const event of events) {
      if (event.type === "bid_accepted" && event.seq > s.lastSeq) {
        series(event.lot_id).add(event.at, event.amount);
        s.lastSeq = event.seq;
        changed = true;
      }
    }
    if (changed) setVersion((v) => v + 1);
  };
  const load = async () => {
    const history = await api("GET", `/api/auctions/${encodeURIComponent(auctionId)}/bids`);
    const s = store.current;
    for (const bid of history.bids) {
      if (bid.status === "accepted") series(bid.lot_id).add(bid.at, bid.amount);
    }
    s.lastSeq = history.seq;
    s.ready = true;
    const waiting = s.buffered;
    s.buffered = [];
    apply(waiting);
    setVersion((v) => v + 1);
  };
  return { series, apply, load };
}

/** @param {{id: string}} props */
export default function Console({ id }) {
  const prices = usePriceHistory(id);
  const [snapshot, room] = useLiveRoom(id, (events, s) => {
    prices.apply(events);
    announceEvents(events, s.view, "buyer");
  });
  const [dialog, ask] = useConfirm();
  const [message, setMessage] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  const [loaded, setLoaded] = useState(false);
  const buyer = claims()?.role === "buyer";
  const { view } = snapshot;

  useEffect(() => {
    if (snapshot.link === "open" && !loaded) {
      setLoaded(true);
      prices.load().catch(() => setLoaded(false));
    }
  }, [snapshot.link]);

  /**
   * A buyer action over HTTP; the live room shows its effect.
   * @param {string} path @param {unknown} [body] @param {string} [done] words on success
   */
  async function act(path, body, done) {
    setMessage(null);
    try {
      await api("POST", `/api/auctions/${encodeURIComponent(id)}${path}`, body);
      if (done) setMessage({ ok: true, text: done });
      return true;
    } catch (e) {
      setMessage({ ok: false, text: problemText(e) + (e instanceof Error && "detail" in e && e.detail ? ` (${e.detail})` : "") });
      return false;
    }
  }

  if (!view) {
    return html`<section><h1 tabindex="-1">${t("console.title")}</h1><${LinkStatus} snapshot=${snapshot} /></section>`;
  }
  const cur = view.currency;
  const digits = view.minor_units;
  const phase = view.phase;
  const openLots = view.lots.filter((/** @type {any} */ l) => l.phase === "open");

  async function extend() {
    const answer = await ask({
      title: t("console.extend"), confirm: t("console.extend"), reason: "reason",
      fields: [
        { name: "minutes", label: t("console.extend_minutes"), type: "number", value: "2", required: true },
        { name: "lot", label: t("console.extend_lot"), value: "", options: [
          { value: "", label: t("console.all_open_lots") },
          ...openLots.map((/** @type {any} */ l) => ({ value: l.lot_id, label: l.title })),
        ] },
      ],
    });
    if (!answer) return;
    const byMs = Math.round(Number(answer.values.minutes) * 60_000);
    await act("/extend", { by_ms: byMs, reason: answer.reason, ...(answer.values.lot ? { lot_id: answer.values.lot } : {}) }, t("console.extended"));
  }

  async function cancel() {
    const answer = await ask({
      title: t("console.cancel_title"), body: t("console.cancel_body"), confirm: t("console.cancel"),
      reason: "reason_required", danger: true,
    });
    if (answer) await act("/cancel", { reason: answer.reason }, t("console.cancelled"));
  }

  async function pause() {
    const answer = await ask({ title: t("console.pause"), confirm: t("console.pause"), reason: "reason" });
    if (answer) await act("/pause", { reason: answer.reason });
  }

  return html`<section class="console">
    <div class="title-row">
      <h1 tabindex="-1">${view.title}</h1>
      <span class=${`phase phase-${phase}`} data-testid="auction-phase">${t(`phases.${phase}`)}</span>
    </div>
    <${LinkStatus} snapshot=${snapshot} />
    <p class="muted">${t(`rules.visibility.${view.visibility}`)} · ${t(`rules.bid_rule.${view.bid_rule}`)}
      · ${t(`rules.tie_rule.${view.tie_rule}`)} · ${view.decrement.kind === "percent" ? percent(view.decrement.value) : money(view.decrement.value, cur, digits)}
      ${view.soft_close ? ` · ${t("console.soft_close_on")}` : ""}</p>
    ${buyer && html`<div class="actions-bar" role="toolbar" aria-label=${t("console.actions")}>
      ${phase === "draft" && html`<button type="button" class="primary" onClick=${() => act("/start", undefined, t("console.started"))}>${t("console.start")}</button>`}
      ${phase === "open" && html`<button type="button" onClick=${pause}>${t("console.pause")}</button>`}
      ${phase === "paused" && html`<button type="button" class="primary" onClick=${() => act("/resume")}>${t("console.resume")}</button>`}
      ${(phase === "open" || phase === "paused") && html`<button type="button" onClick=${extend}>${t("console.extend")}</button>`}
      ${(phase === "draft" || phase === "open" || phase === "paused") && html`<button type="button" class="danger" onClick=${cancel}>${t("console.cancel")}</button>`}
      <a class="button" href=${href(`/auctions/${encodeURIComponent(id)}/results`)}>${t("results.title")}</a>
    </div>`}
    ${!buyer && html`<p><a href=${href(`/auctions/${encodeURIComponent(id)}/results`)}>${t("results.title")}</a></p>`}
    ${message && html`<p class=${`result ${message.ok ? "good" : "bad"}`} role=${message.ok ? "status" : "alert"} data-testid="action-result">${message.text}</p>`}
    ${phase === "cancelled" && view.cancel_reason && html`<p class="notice bad">${t("room.cancelled")}: ${view.cancel_reason}</p>`}
    ${buyer && html`<${ShownSuppliers} id=${id} view=${view} presence=${snapshot.presence} serverNow=${() => room.serverNow()} act=${act} />`}
    <div class="lots">
      ${view.lots.map((/** @type {any} */ lot) => html`<${ShownLot} key=${lot.lot_id} lot=${lot} view=${view}
        buyer=${buyer} room=${room} ask=${ask} act=${act} say=${setMessage}
        series=${prices.series(lot.lot_id)} version=${prices.series(lot.lot_id).version} />`)}
    </div>
    ${dialog}
  </section>`;
}

/**
 * The suppliers' table, drawn again only when the suppliers, their presence, the auction's phase
 * or the language changed (or its own state: the forms, the links), not on every bid: 200
 * suppliers are 200 rows. "Last seen ... ago" is as of the last change of presence.
 * @param {Parameters<typeof Suppliers>[0]} props
 */
function ShownSuppliers(props) {
  const { view, presence } = props;
  const shown = JSON.stringify([view.suppliers, view.phase, presence, view.acceptances, view.terms?.version,
    view.category, language()]);
  return useMemo(() => html`<${Suppliers} ...${props} />`, [shown]);
}

/**
 * Invitations (a supplier found in the registry, or an id typed by hand), join links, who is
 * connected and, where the auction has terms, who accepted them.
 * @param {{id: string, view: any, presence: any, serverNow: () => number,
 *   act: (path: string, body?: unknown, done?: string) => Promise<boolean>}} props
 */
function Suppliers({ id, view, presence, serverNow, act }) {
  const [supplier, setSupplier] = useState("");
  const [name, setName] = useState("");
  const [links, setLinks] = useState(/** @type {Record<string, string>} */ ({}));
  const [dev, setDev] = useState(false);
  useEffect(() => { api("GET", "/api/session").then((s) => setDev(Boolean(s.dev_sign_in)), () => {}); }, []);

  /** @param {string} id @param {string} named */
  const inviteOne = (id, named) => act("/invitations", { supplier: id, name: named }, t("console.invited", { name: named || id }));

  /** @param {Event} event */
  async function invite(event) {
    event.preventDefault();
    if (await inviteOne(supplier.trim(), name.trim())) {
      setSupplier("");
      setName("");
    }
  }

  /** @param {any} s */
  async function makeLink(s) {
    const base = `${location.origin}/#/room/${encodeURIComponent(id)}`;
    let link = base;
    if (dev) {
      try {
        const minted = await api("POST", "/api/dev/tokens", { role: "supplier", org: s.supplier, name: s.name || s.supplier });
        link = `${base}?token=${encodeURIComponent(minted.token)}`;
      } catch { /* the plain link: the supplier signs in with its platform's token */ }
    }
    setLinks({ ...links, [s.supplier]: link });
  }

  /** @type {Map<string, any>} */
  const online = new Map((presence?.suppliers ?? []).map((/** @type {any} */ p) => [p.supplier, p]));
  const now = serverNow();
  return html`<section class="card" aria-labelledby="suppliers-title">
    <h2 id="suppliers-title">${t("console.suppliers")} <span class="muted">(${view.suppliers?.length ?? 0})</span></h2>
    ${view.suppliers?.length ? html`<${ScrollBox} label=${t("console.suppliers")}><table class="list" data-testid="suppliers">
      <thead><tr><th scope="col">${t("console.supplier")}</th><th scope="col">${t("lot.alias")}</th>
        <th scope="col">${t("console.connection")}</th>
        ${view.terms && html`<th scope="col">${t("terms.column")}</th>`}
        <th scope="col">${t("console.join_link")}</th></tr></thead>
      <tbody>${view.suppliers.map((/** @type {any} */ s) => {
        const p = online.get(s.supplier);
        const state = p?.online ? "online" : "offline";
        return html`<tr data-supplier=${s.supplier}>
          <th scope="row">${s.name || s.supplier}<div class="muted small">${s.supplier}</div>
            ${s.restricted && html`<div class="bad small" data-testid="restricted">${t("registry.restricted_here", {
              why: `${standingWords(s.restricted.reason)}${s.restricted.detail ? `: ${s.restricted.detail}` : ""}`,
              when: dateTime(s.restricted.since) })}</div>`}</th>
          <td>${aliasText(s.alias)}</td>
          <td><span class=${`presence ${state}`} data-testid="presence" data-state=${state}>
            <span class="dot" aria-hidden="true"></span>${t(`console.${state}`)}</span>
            ${!p?.online && p?.last_seen ? html`<div class="muted small">${t("console.last_seen", { when: ago(Math.max(0, now - p.last_seen)) })}</div>` : ""}</td>
          ${view.terms && html`<td data-testid="terms-accepted">${acceptanceText(view.acceptances, s.supplier)}</td>`}
          <td>${links[s.supplier]
            ? html`<input class="link-box" readonly value=${links[s.supplier]} aria-label=${t("console.join_link_for", { name: s.name || s.supplier })}
                onFocus=${(/** @type {any} */ e) => e.currentTarget.select()} data-testid="join-link" />
              <button type="button" class="link" onClick=${() => navigator.clipboard?.writeText(links[s.supplier])}>${t("console.copy")}</button>`
            : html`<button type="button" onClick=${() => makeLink(s)}>${t("console.make_link")}</button>`}</td>
        </tr>`;
      })}</tbody>
    </table><//>` : html`<p class="muted">${t("console.no_suppliers")}</p>`}
    ${dev && html`<p class="hint">${t("console.dev_links")}</p>`}
    ${view.phase !== "closed" && view.phase !== "cancelled" && html`<${InvitePicker} category=${view.category}
      invited=${(view.suppliers ?? []).map((/** @type {any} */ s) => s.supplier)} invite=${inviteOne} />
      <h3>${t("registry.invite_by_id")}</h3>
      <form class="inline-form" onSubmit=${invite}>
      <${Field} label=${t("console.supplier_id")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} aria-describedby="supplier-id-hint" required maxlength="64" pattern="[A-Za-z0-9._:\\-]+"
          value=${supplier} onInput=${(/** @type {any} */ e) => setSupplier(e.currentTarget.value)} />`}<//>
      <${Field} label=${t("console.supplier_name")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} maxlength="200" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} />`}<//>
      <button type="submit">${t("console.invite")}</button>
      <p class="hint" id="supplier-id-hint">${t("console.supplier_id_hint")}</p>
    </form>`}
  </section>`;
}

/**
 * The board's rows shown until the buyer asks for all: the ranks that decide an award. Two
 * hundred rows on each of five lots made a page of 20,000 nodes whose layout and paint alone
 * took 30 ms an update (docs/performance.md, "The browser UI").
 */
const TOP_ROWS = 10;

/**
 * A lot's panel, drawn again only when something it shows changed: the lot, its prices (the
 * series' own version), the auction's phase, currency and suppliers, the role, the language. An
 * update changes one lot or two; drawing every lot's board again on every update took 60 ms and
 * more of the main thread per update with five lots of 200 bids (loadtests/browser_bench.py).
 * The same vnode is returned while nothing changed, and preact skips a vnode it already drew.
 * The panel's functions may be those of an earlier render: `act` and `say` reach only the
 * auction's id and state setters, `ask` only its own state, `room` is the page's one room.
 * @param {Parameters<typeof LotPanel>[0]} props
 */
function ShownLot(props) {
  const { lot, view, buyer, version } = props;
  const shown = JSON.stringify([lot, view.phase, view.currency, view.minor_units, view.suppliers,
    buyer, language()]);
  return useMemo(() => html`<${LotPanel} ...${props} />`, [shown, version]);
}

/**
 * @param {{lot: any, view: any, buyer: boolean, room: import("../../live.js").LiveRoom,
 *   ask: ReturnType<typeof useConfirm>[1], act: (path: string, body?: unknown, done?: string) => Promise<boolean>,
 *   say: (m: {ok: boolean, text: string}) => void, series: PriceSeries, version: number}} props
 */
function LotPanel({ lot, view, buyer, room, ask, act, say, series, version }) {
  const cur = view.currency;
  const digits = view.minor_units;
  const fmt = (/** @type {number | null | undefined} */ v) => money(v, cur, digits);
  const leader = lot.leading_price;
  const saved = leader != null ? lot.ceiling - leader : null;
  const open = lot.phase === "open" && view.phase === "open";
  const awardable = buyer && lot.phase === "closed" && !lot.award && lot.board?.length;
  const [allRows, setAllRows] = useState(false);
  const board = lot.board ?? [];
  const shownRows = allRows ? board : board.slice(0, TOP_ROWS);

  /** @param {any} entry */
  async function voidBid(entry) {
    const answer = await ask({
      title: t("console.void_title"), confirm: t("console.void"), danger: true, reason: "reason_required",
      body: t("console.void_body", { name: entry.name || aliasText(entry.alias), amount: fmt(entry.amount) }),
    });
    if (answer) await act(`/bids/${encodeURIComponent(entry.bid_id)}/void`, { reason: answer.reason }, t("console.voided"));
  }

  async function award() {
    const answer = await ask({
      title: t("console.award_title", { lot: lot.title }), confirm: t("console.award"), reason: "reason",
      body: t("console.award_body"),
      fields: [{ name: "bid", label: t("console.award_bid"), value: lot.board[0].bid_id,
        options: lot.board.map((/** @type {any} */ e) => ({ value: e.bid_id, label: `${e.rank}. ${e.name || aliasText(e.alias)} — ${fmt(e.amount)}` })) }],
    });
    if (answer) await act(`/lots/${encodeURIComponent(lot.lot_id)}/award`, { bid_id: answer.values.bid, reason: answer.reason }, t("console.awarded"));
  }

  async function onBehalf() {
    const answer = await ask({
      title: t("console.on_behalf_title", { lot: lot.title }), confirm: t("room.place_bid"), body: t("console.on_behalf_body"),
      fields: [
        { name: "supplier", label: t("console.supplier"), options: (view.suppliers ?? []).map((/** @type {any} */ s) => ({ value: s.supplier, label: s.name || s.supplier })) },
        { name: "amount", label: t("room.your_bid", { currency: cur }), required: true, value: "" },
      ],
    });
    if (!answer) return;
    const amount = parseAmount(answer.values.amount, digits);
    if (amount === null) {
      say({ ok: false, text: t("room.errors.unreadable", { digits }) });
      return;
    }
    // The buyer's dialog is the confirmation a phone-in drop needs.
    const outcome = await room.bid(lot.lot_id, amount, { onBehalfOf: answer.values.supplier, confirm: true });
    say(outcome.status === "accepted"
      ? { ok: true, text: t("console.on_behalf_done", { amount: fmt(amount) }) }
      : { ok: false, text: `${t("room.refused")}: ${reasonText(outcome.reason ?? "internal_error")}` });
  }

  return html`<article class="lot card" aria-labelledby=${`lot-${lot.lot_id}`} data-lot=${lot.lot_id}>
    <header class="lot-head">
      <h2 id=${`lot-${lot.lot_id}`}>${lot.title}</h2>
      <span class=${`phase phase-${lot.phase}`}>${t(`lot_phases.${lot.phase}`)}</span>
    </header>
    <p class="muted">${lot.quantity} ${lot.unit}</p>
    <dl class="figures">
      <div><dt>${t("lot.ends_in")}</dt><dd><${Countdown} endAt=${lot.end_at} serverNow=${() => room.serverNow()}
        running=${open} label=${t("lot.ends_in")} />${lot.extensions ? html` <span class="badge">${t("lot.extended", { count: lot.extensions })}</span>` : ""}</dd></div>
      <div><dt>${t("lot.ceiling")}</dt><dd>${fmt(lot.ceiling)}</dd></div>
      ${lot.reserve != null && html`<div><dt>${t("lot.reserve")}</dt><dd>${fmt(lot.reserve)}</dd></div>`}
      <div><dt>${t("lot.leading")}</dt><dd class="big" data-testid="leading">${fmt(leader)}</dd></div>
      <div><dt>${t("lot.savings")}</dt><dd data-testid="savings">${saved != null ? `${fmt(saved)} (${number(saved / lot.ceiling, { style: "percent", maximumFractionDigits: 1 })})` : "—"}</dd></div>
      <div><dt>${t("lot.end_time")}</dt><dd>${dateTime(lot.end_at)}</dd></div>
    </dl>
    ${lot.award && html`<p class="notice good" data-testid="award">${t("console.award_done", {
      who: (view.suppliers ?? []).find((/** @type {any} */ s) => s.supplier === lot.award.supplier)?.name || aliasText(lot.award.alias ?? lot.award.supplier),
      amount: fmt(lot.award.amount) })}${lot.award.reason ? ` — ${lot.award.reason}` : ""}</p>`}
    <${PriceChart} series=${series} version=${version} currency=${cur} digits=${digits} title=${lot.title} />
    <table class="board" data-testid="board">
      <caption>${t("lot.board")}</caption>
      <thead><tr><th scope="col">${t("lot.rank")}</th><th scope="col">${t("lot.supplier")}</th>
        <th scope="col" class="num">${t("lot.amount")}</th><th scope="col">${t("lot.at")}</th>
        ${buyer && html`<th scope="col"><span class="sr-only">${t("console.actions")}</span></th>`}</tr></thead>
      <tbody>${shownRows.map((/** @type {any} */ e) => html`<tr>
        <td>${e.rank}</td>
        <td>${e.name || e.supplier || aliasText(e.alias)}${e.supplier ? html` <span class="muted small">${aliasText(e.alias)}</span>` : ""}
          ${e.entered_by ? html` <span class="badge">${t("console.phone_in")}</span>` : ""}</td>
        <td class="num">${fmt(e.amount)}</td><td>${dateTime(e.at)}</td>
        ${buyer && html`<td>${e.bid_id && lot.phase !== "awarded" && html`<button type="button" class="link" onClick=${() => voidBid(e)}>${t("console.void")}</button>`}</td>`}
      </tr>`)}</tbody>
    </table>
    ${(!lot.board || !lot.board.length) && html`<p class="muted">${t("console.no_bids")}</p>`}
    ${board.length > TOP_ROWS && html`<button type="button" class="link" aria-expanded=${allRows}
      onClick=${() => setAllRows(!allRows)}>${allRows ? t("console.show_top", { n: TOP_ROWS })
        : t("console.show_all", { n: board.length })}</button>`}
    ${buyer && html`<div class="actions">
      ${open && (view.suppliers ?? []).length > 0 && html`<button type="button" onClick=${onBehalf}>${t("console.on_behalf")}</button>`}
      ${awardable && html`<button type="button" class="primary" onClick=${award}>${t("console.award")}</button>`}
    </div>`}
  </article>`;
}
