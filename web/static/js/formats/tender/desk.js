// @ts-check
/**
 * The buyer's side of a tender's page: the procurement team's actions, each shown only in the
 * phase where the engine takes it and to the user it names (the opening officers present their
 * shares, the evaluators score, the buyer publishes, answers, qualifies, awards, resolves
 * complaints and may cancel). The engine decides; a refusal is shown in words.
 *
 * An officer pastes the key share that `bidserver tender open-share` opened on their own machine
 * with their own key: the share is useless alone, and the server learns the tender's key only
 * when k officers have presented theirs, at or after the opening time.
 */
import { html, useEffect, useState } from "../../../vendor/ui.js";
import { t, dateTime } from "../../i18n.js";
import { api, problemText } from "../../api.js";
import { claims } from "../../session.js";
import { useConfirm } from "../../components/dialog.js";
import { ScrollBox } from "../../components/scroll-box.js";
import { acceptanceText } from "../../components/terms.js";
import { InvitePicker } from "../../registry/invite-picker.js";
import { reasonText as standingWords } from "../../registry/words.js";

/** @param {{id: string, view: import("../../wire").TenderView, fmt: (m: number | null | undefined) => string}} props */
export function Desk({ id, view }) {
  const [message, setMessage] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  const [dialog, ask] = useConfirm();
  const user = claims()?.sub ?? "";
  const desk = view.buyer;
  const path = `/api/tenders/${encodeURIComponent(id)}`;

  /** @param {string} route @param {any} [body] @param {string} [done] */
  async function act(route, body, done) {
    try {
      await api("POST", path + route, body);
      setMessage({ ok: true, text: done ?? t("tender.done") });
      return true;
    } catch (e) {
      setMessage({ ok: false, text: problemText(e) });
      return false;
    }
  }

  async function cancel() {
    const answer = await ask({ title: t("tender.cancel"), confirm: t("tender.cancel"),
      reason: "reason_required", danger: true });
    if (answer) await act("/cancel", { reason: answer.reason });
  }

  /** EU Art. 35: instead of awarding, a live reverse auction among the qualified bidders, their
   * sealed prices as opening bids (lowest price only; the engine says why otherwise). */
  async function followOn() {
    const answer = await ask({
      title: t("tender.follow_on"), body: t("tender.follow_on_body"), confirm: t("tender.follow_on"),
      fields: [
        { name: "minutes", label: t("tender.follow_on_minutes"), type: "number", value: "30", required: true },
        { name: "percent", label: t("tender.follow_on_decrement"), type: "number", value: "0.5", required: true },
        { name: "visibility", label: t("tender.follow_on_visibility"), value: "rank_only",
          options: ["rank_only", "rank_and_leading_price"].map((v) => ({ value: v, label: t(`rules.visibility.${v}`) })) },
      ],
    });
    if (!answer) return;
    const rules = {
      duration_ms: Math.round(Number(answer.values.minutes) * 60_000),
      decrement: { kind: "percent", value: Math.round(Number(answer.values.percent) * 100) },
      visibility: answer.values.visibility,
    };
    await act("/auction", { rules }, t("tender.follow_on_started"));
  }

  async function award() {
    const answer = await ask({ title: t("tender.decide_award"), body: t("tender.decide_award_body"),
      confirm: t("tender.decide_award") });
    if (answer) await act("/award");
  }

  if (!desk) return null;
  const phase = view.phase;
  const live = !["awarded", "unsuccessful", "cancelled"].includes(phase);
  return html`<section class="card" aria-labelledby="desk-title">
    ${dialog}
    <h2 id="desk-title">${t("tender.desk")}</h2>
    ${desk && html`<div class="actions-bar" role="toolbar" aria-label=${t("tender.desk")}>
      ${phase === "draft" && html`<button type="button" class="primary" onClick=${() => act("/publish", undefined, t("tender.published"))}>${t("tender.publish")}</button>`}
      ${phase === "evaluation" && html`<button type="button" class="primary" onClick=${award}>${t("tender.decide_award")}</button>`}
      ${phase === "evaluation" && view.award.kind === "lowest_price" && view.procedure === "open"
        && html`<button type="button" onClick=${followOn}>${t("tender.follow_on")}</button>`}
      ${live && html`<button type="button" class="danger" onClick=${cancel}>${t("tender.cancel")}</button>`}
    </div>`}
    ${message && html`<p class=${`result ${message.ok ? "good" : "bad"}`} role=${message.ok ? "status" : "alert"}
      data-testid="desk-result">${message.text}</p>`}
    ${desk && (phase === "draft" || phase === "published" || phase === "submission") && html`<${Invite} act=${act} desk=${desk} view=${view} />`}
    ${desk && desk.questions.length > 0 && html`<${Answer} act=${act} desk=${desk} />`}
    ${desk && phase === "opening" && desk.officers.includes(user)
      && html`<${Share} act=${act} again=${desk.shares_from.includes(user)} />`}
    ${desk && phase === "opening" && html`<p data-testid="shares-from">${t("tender.shares_from", { officers: desk.shares_from.join(", ") || "—" })}</p>`}
    ${desk && phase === "evaluation" && view.opening && html`<${Qualify} act=${act} view=${view} />`}
    ${desk && desk.evaluators.includes(user) && phase === "evaluation" && html`<${Scores} id=${id} act=${act} view=${view} />`}
    ${desk && desk.complaints.length > 0 && html`<${Complaints} act=${act} desk=${desk} />`}
  </section>`;
}

/** @typedef {(route: string, body?: any, done?: string) => Promise<boolean>} Act */

/** Invitations: a supplier found in the registry, or an id typed by hand; with terms, who
 * accepted them (the buyer learns who accepted, as it knows whom it invited, never who bid).
 * @param {{act: Act, desk: import("../../wire").BuyerDesk, view: import("../../wire").TenderView}} props */
function Invite({ act, desk, view }) {
  const [supplier, setSupplier] = useState("");
  const [name, setName] = useState("");
  /** @param {string} id @param {string} named */
  const inviteOne = (id, named) => act("/invitations", { supplier: id, name: named });
  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    if (await inviteOne(supplier.trim(), name.trim())) {
      setSupplier("");
      setName("");
    }
  }
  return html`<h3>${t("tender.suppliers")} <span class="muted">(${desk.suppliers.length})</span></h3>
    <ul data-testid="invited">${desk.suppliers.map((s) => html`<li>${s.name || s.supplier} <span class="muted small">${s.supplier} · ${dateTime(s.invited_at)}</span>
      ${s.restricted && html`<div class="bad small" data-testid="restricted">${t("registry.restricted_here", {
        why: `${standingWords(s.restricted.reason)}${s.restricted.detail ? `: ${s.restricted.detail}` : ""}`,
        when: dateTime(s.restricted.since) })}</div>`}
      ${view.terms && html`<div class="small" data-testid="terms-accepted">${t("terms.column")}: ${acceptanceText(desk.acceptances, s.supplier)}</div>`}</li>`)}</ul>
    <${InvitePicker} category=${view.category} invited=${desk.suppliers.map((s) => s.supplier)} invite=${inviteOne} />
    <h4>${t("registry.invite_by_id")}</h4>
    <form class="inline-form" onSubmit=${submit}>
      <div class="field"><label for="invite-supplier">${t("console.supplier_id")}</label>
        <input id="invite-supplier" required value=${supplier} onInput=${(/** @type {any} */ e) => setSupplier(e.currentTarget.value)} /></div>
      <div class="field"><label for="invite-name">${t("console.supplier_name")}</label>
        <input id="invite-name" value=${name} onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} /></div>
      <button type="submit">${t("console.invite")}</button>
    </form>`;
}

/** Questions with who asked (the buyer's alone); an answer is published to all without the name.
 * @param {{act: Act, desk: import("../../wire").BuyerDesk}} props */
function Answer({ act, desk }) {
  const [drafts, setDrafts] = useState(/** @type {Record<string, string>} */ ({}));
  return html`<h3>${t("tender.questions")}</h3>
    <ul data-testid="questions">${desk.questions.map((q) => {
      const key = `${q.supplier}/${q.question_id}`;
      return html`<li><p>${q.text} <span class="muted small">${q.supplier} · ${dateTime(q.asked_at)}</span></p>
        ${q.answer ? html`<p class="good">${q.answer}</p>` : html`<form onSubmit=${async (/** @type {Event} */ e) => {
          e.preventDefault();
          await act(`/questions/${encodeURIComponent(q.question_id)}/answer`, { supplier: q.supplier, answer: drafts[key] ?? "" });
        }}><label for=${`answer-${key}`}>${t("tender.answer")}</label>
          <textarea id=${`answer-${key}`} rows="2" required value=${drafts[key] ?? ""}
            onInput=${(/** @type {any} */ e) => setDrafts({ ...drafts, [key]: e.currentTarget.value })}></textarea>
          <button type="submit">${t("tender.publish_answer")}</button></form>`}</li>`;
    })}</ul>`;
}

/**
 * An officer's share. The server journals a share's fingerprint only and keeps the share in
 * memory until the opening, so an officer whose share is in is offered the form too: after a
 * restart it presents the same share again (while the server still holds it: already_presented).
 * @param {{act: Act, again: boolean}} props
 */
function Share({ act, again }) {
  const [share, setShare] = useState("");
  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    if (await act("/shares", { share: share.trim() }, t("tender.share_presented"))) setShare("");
  }
  return html`<form onSubmit=${submit} data-testid="share-form">
    <div class="field"><label for="share">${t("tender.your_share")}</label>
      <textarea id="share" rows="3" required value=${share} autocomplete="off" spellcheck=${false}
        onInput=${(/** @type {any} */ e) => setShare(e.currentTarget.value)}></textarea>
      <p class="hint">${t("tender.share_hint")}</p>
      ${again && html`<p class="hint" data-testid="share-again">${t("tender.share_again_hint")}</p>`}</div>
    <button type="submit" class="primary">${t("tender.present_share")}</button>
  </form>`;
}

/** @param {{act: Act, view: import("../../wire").TenderView}} props */
function Qualify({ act, view }) {
  const statuses = Object.fromEntries((view.qualifications ?? []).map((q) => [q.supplier, q]));
  const [reasons, setReasons] = useState(/** @type {Record<string, string>} */ ({}));
  const opened = (view.opening?.record ?? []).filter((b) => !b.failed);
  return html`<h3>${t("tender.qualification")}</h3>
    <${ScrollBox} label=${t("tender.qualification")}><table class="list" data-testid="qualification">
      <thead><tr><th scope="col">${t("tender.bidder")}</th><th scope="col">${t("tender.status")}</th>
        <th scope="col"><span class="sr-only">${t("console.actions")}</span></th></tr></thead>
      <tbody>${opened.map((b) => html`<tr>
        <th scope="row">${b.name || b.supplier}</th>
        <td>${statuses[b.supplier] ? t(`tender.qualification_status.${statuses[b.supplier].status}`) : "—"}
          ${statuses[b.supplier]?.reason ? html`<div class="muted small">${statuses[b.supplier].reason}</div>` : ""}</td>
        <td><button type="button" onClick=${() => act("/qualifications", { supplier: b.supplier, status: "valid" })}>${t("tender.qualify")}</button>
          <label class="sr-only" for=${`reason-${b.supplier}`}>${t("tender.disqualify_reason")}</label>
          <input id=${`reason-${b.supplier}`} placeholder=${t("tender.disqualify_reason")} value=${reasons[b.supplier] ?? ""}
            onInput=${(/** @type {any} */ e) => setReasons({ ...reasons, [b.supplier]: e.currentTarget.value })} />
          <button type="button" class="danger" onClick=${() => act("/qualifications",
            { supplier: b.supplier, status: "disqualified", reason: reasons[b.supplier] ?? "" })}>${t("tender.disqualify")}</button></td>
      </tr>`)}</tbody>
    </table><//>`;
}

/** An evaluator's scores, 0-100 per bid and quality criterion. They are hidden from the other
 * evaluators until all have scored, so the live room's shared view of the buyer's people does not
 * carry them: the evaluator's own view (`GET /api/auctions/{id}`) does.
 * @param {{id: string, act: Act, view: import("../../wire").TenderView}} props */
function Scores({ id, act, view }) {
  const criteria = view.award.criteria.filter((c) => c.name !== "price");
  const [mine, setMine] = useState(/** @type {Record<string, number>} */ ({}));
  const [values, setValues] = useState(/** @type {Record<string, string>} */ ({}));
  const load = () => api("GET", `/api/auctions/${encodeURIComponent(id)}`).then((answer) => {
    const scores = /** @type {import("../../wire").TenderView} */ (answer.view).evaluator?.scores ?? [];
    setMine(Object.fromEntries(scores.map((s) => [`${s.supplier}/${s.criterion}`, s.score])));
  }, () => {});
  useEffect(() => { void load(); }, [id]);
  const bids = (view.opening?.record ?? []).filter((b) => !b.failed);
  return html`<h3>${t("tender.your_scores")}</h3>
    ${bids.map((b) => html`<fieldset class="choice"><legend>${b.name || b.supplier}</legend>
      ${criteria.map((c) => {
        const key = `${b.supplier}/${c.name}`;
        return html`<div class="field"><label for=${`score-${key}`}>${c.name} (${c.weight})</label>
          <input id=${`score-${key}`} type="number" min="0" max="100" step="1"
            value=${values[key] ?? (mine[key] ?? "")}
            onInput=${(/** @type {any} */ e) => setValues({ ...values, [key]: e.currentTarget.value })} />
          <button type="button" onClick=${async () => {
            if (await act("/scores", { supplier: b.supplier, criterion: c.name, score: Number(values[key] ?? mine[key]) })) void load();
          }}>${t("tender.score")}</button></div>`;
      })}</fieldset>`)}`;
}

/** @param {{act: Act, desk: import("../../wire").BuyerDesk}} props */
function Complaints({ act, desk }) {
  const [drafts, setDrafts] = useState(/** @type {Record<string, string>} */ ({}));
  return html`<h3>${t("tender.complaints")}</h3>
    <ul data-testid="complaints">${desk.complaints.map((c) => html`<li>
      <p>${c.text} <span class="muted small">${c.supplier} · ${dateTime(c.at)}</span></p>
      ${c.resolved_at ? html`<p>${t(c.upheld ? "tender.upheld" : "tender.rejected")}: ${c.resolution}</p>`
        : html`<div><label for=${`resolution-${c.complaint_id}`}>${t("tender.resolution")}</label>
          <textarea id=${`resolution-${c.complaint_id}`} rows="2" value=${drafts[c.complaint_id] ?? ""}
            onInput=${(/** @type {any} */ e) => setDrafts({ ...drafts, [c.complaint_id]: e.currentTarget.value })}></textarea>
          ${[true, false].map((upheld) => html`<button type="button" onClick=${() => act(
            `/complaints/${encodeURIComponent(c.complaint_id)}/resolution`,
            { supplier: c.supplier, upheld, resolution: drafts[c.complaint_id] ?? "" })}>${t(upheld ? "tender.uphold" : "tender.reject")}</button>`)}</div>`}
    </li>`)}</ul>`;
}
