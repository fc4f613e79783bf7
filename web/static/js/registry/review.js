// @ts-check
/**
 * A supplier's page (`#/suppliers/<id>`), for the platform's reviewers and, read-only, for
 * buyers choosing whom to invite. Reviewers qualify it per category (naming the certificates
 * the qualification rests on: it lapses when one expires), reject a category with a reason,
 * suspend or blacklist it with a reason and a period (an end date, or indefinitely), lift a
 * restriction with a reason, and answer its appeals. The history says who changed what, when
 * and why. Every decision is the server's: a refusal is shown in words.
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { t, dateTime } from "../i18n.js";
import { api, problemText, ApiProblem } from "../api.js";
import { claims } from "../session.js";
import { Field, Choice } from "../components/field.js";
import { useConfirm } from "../components/dialog.js";
import { ScrollBox } from "../components/scroll-box.js";
import {
  RegistrationFacts, RestrictionNotice, Standings, Restrictions, Documents, Appeals,
} from "./record.js";
import { StatusBadge, Rating, supplierPath, dayStart, period } from "./words.js";

/** @typedef {import("../wire").SupplierAnswer} SupplierAnswer */
/** @typedef {(path: string, body: unknown, done: string) => Promise<boolean>} Act */

/** @param {{id: string}} props */
export default function Review({ id }) {
  const reviewer = claims()?.role === "platform";
  const [answer, setAnswer] = useState(/** @type {SupplierAnswer | null} */ (null));
  const [history, setHistory] = useState(/** @type {any[]} */ ([]));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [message, setMessage] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  const [dialog, ask] = useConfirm();

  const loadHistory = () => api("GET", supplierPath(id, "/history"))
    .then((h) => setHistory(h.entries), () => {});
  useEffect(() => {
    api("GET", supplierPath(id)).then(setAnswer, (e) => setError(problemText(e)));
    void loadHistory();
  }, [id]);

  /** A reviewer's decision; the record after it, or the refusal in words. @type {Act} */
  async function act(path, body, done) {
    setMessage(null);
    try {
      setAnswer(await api("POST", supplierPath(id, path), body));
      setMessage({ ok: true, text: done });
      void loadHistory();
      return true;
    } catch (e) {
      const detail = e instanceof ApiProblem && e.detail ? ` (${e.detail})` : "";
      setMessage({ ok: false, text: problemText(e) + detail });
      return false;
    }
  }

  /** @param {string} restrictionId */
  async function lift(restrictionId) {
    const said = await ask({ title: t("registry.lift"), confirm: t("registry.lift"), reason: "reason_required" });
    if (said) await act(`/restrictions/${encodeURIComponent(restrictionId)}/lifting`, { reason: said.reason }, t("registry.lifted_done"));
  }

  if (error) return html`<section><h1 tabindex="-1">${t("registry.record_title")}</h1><p class="error" role="alert">${error}</p></section>`;
  if (!answer) return html`<section><h1 tabindex="-1">${t("registry.record_title")}</h1><p role="status" class="muted">${t("shell.loading")}</p></section>`;
  return html`<section>
    ${dialog}
    <div class="title-row"><h1 tabindex="-1">${answer.supplier.registration.legal_name}</h1>
      <span data-testid="status"><${StatusBadge} status=${answer.status} /></span></div>
    <p><${Rating} rating=${answer.rating} long=${true} /></p>
    <${RestrictionNotice} answer=${answer} />
    ${message && html`<p class=${`result ${message.ok ? "good" : "bad"}`} role=${message.ok ? "status" : "alert"}
      data-testid="review-result">${message.text}</p>`}

    <section class="card" aria-labelledby="facts-title">
      <h2 id="facts-title">${t("registry.registration")}</h2>
      <${RegistrationFacts} answer=${answer} />
    </section>

    <section class="card" aria-labelledby="categories-title">
      <h2 id="categories-title">${t("registry.categories")}</h2>
      <${Standings} answer=${answer} />
      ${reviewer && html`<${Decide} answer=${answer} act=${act} />`}
    </section>

    <section class="card" aria-labelledby="documents-title">
      <h2 id="documents-title">${t("registry.documents")}</h2>
      <${Documents} answer=${answer} />
    </section>

    <section class="card" aria-labelledby="restrictions-title">
      <h2 id="restrictions-title">${t("registry.restrictions")}</h2>
      <${Restrictions} answer=${answer} onLift=${reviewer ? lift : undefined} />
      ${reviewer && html`<${Restrict} act=${act} />`}
    </section>

    ${reviewer && html`<section class="card" aria-labelledby="appeals-title">
      <h2 id="appeals-title">${t("registry.appeals")}</h2>
      <${Appeals} answer=${answer}>${(/** @type {string} */ appealId) => html`<${AnswerAppeal} appealId=${appealId} act=${act} />`}<//>
    </section>`}

    <section class="card" aria-labelledby="history-title">
      <h2 id="history-title">${t("registry.history")}</h2>
      <${History} entries=${history} answer=${answer} />
    </section>
  </section>`;
}

/**
 * Qualify or reject one category applied for. A qualification names the certificates it rests
 * on (unexpired certificates of the record); a rejection says why.
 * @param {{answer: SupplierAnswer, act: Act}} props
 */
function Decide({ answer, act }) {
  const codes = answer.standings.map((s) => s.category);
  const pending = answer.standings.find((s) => s.status === "pending")?.category;
  const [category, setCategory] = useState(pending ?? codes[0] ?? "");
  const [certificates, setCertificates] = useState(/** @type {string[]} */ ([]));
  const [reason, setReason] = useState("");
  const usable = answer.supplier.documents.filter((d) => d.kind === "certificate"
    && (d.expires_at === null || d.expires_at > answer.now));
  const chosen = codes.includes(category) ? category : codes[0] ?? "";
  if (!codes.length) return null;
  const path = `/categories/${encodeURIComponent(chosen)}`;

  return html`<form class="lot-form" data-testid="decide-form" aria-labelledby="decide-title"
      onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
    <h3 id="decide-title">${t("registry.decide")}</h3>
    <${Field} label=${t("registry.category")}>${(/** @type {any} */ f) => html`
      <select id=${f.id} value=${chosen} onChange=${(/** @type {any} */ e) => setCategory(e.currentTarget.value)}>
        ${answer.standings.map((s) => html`<option value=${s.category}>${s.category} ${s.name} (${t(`registry.status.${s.status}`)})</option>`)}
      </select>`}<//>
    <fieldset class="choice">
      <legend>${t("registry.rests_on")}</legend>
      ${usable.length === 0 ? html`<p class="muted">${t("registry.no_certificates")}</p>`
        : usable.map((d) => html`<label class="option"><input type="checkbox" checked=${certificates.includes(d.sha256)}
          onChange=${(/** @type {any} */ e) => setCertificates(e.currentTarget.checked ? [...certificates, d.sha256]
            : certificates.filter((c) => c !== d.sha256))} />
          <span>${d.title}${d.expires_at !== null ? ` · ${t("registry.expires_on", { when: dateTime(d.expires_at) })}` : ""}</span></label>`)}
    </fieldset>
    <${Field} label=${t("registry.decision_reason")} hint=${t("registry.decision_reason_hint")}>${(/** @type {any} */ f) => html`
      <textarea id=${f.id} aria-describedby=${f.describedBy} rows="2" maxlength="1000" value=${reason}
        onInput=${(/** @type {any} */ e) => setReason(e.currentTarget.value)}></textarea>`}<//>
    <div class="actions">
      <button type="button" class="primary" onClick=${async () => {
        if (await act(`${path}/qualification`, { certificates, reason: reason.trim() }, t("registry.qualified_done", { code: chosen }))) setReason("");
      }}>${t("registry.qualify")}</button>
      <button type="button" class="danger" onClick=${async () => {
        if (await act(`${path}/rejection`, { reason: reason.trim() }, t("registry.rejected_done", { code: chosen }))) setReason("");
      }}>${t("registry.reject")}</button>
    </div>
  </form>`;
}

/** Suspend or blacklist: a reason and a period that ends on a date or never.
 * @param {{act: Act}} props */
function Restrict({ act }) {
  const [kind, setKind] = useState("suspended");
  const [reason, setReason] = useState("");
  const [length, setLength] = useState("until");
  const [end, setEnd] = useState("");

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    const endAt = length === "until" ? dayStart(end) : null;
    const body = { kind, reason: reason.trim(), ...(endAt !== null ? { end_at: endAt } : {}) };
    if (await act("/restrictions", body, t(`registry.restricted_done.${kind}`))) {
      setReason("");
      setEnd("");
    }
  }

  return html`<form class="lot-form" onSubmit=${submit} data-testid="restrict-form" aria-labelledby="restrict-title">
    <h3 id="restrict-title">${t("registry.restrict")}</h3>
    <${Choice} legend=${t("registry.restriction_kind")} name="kind" value=${kind} onChange=${setKind}
      options=${["suspended", "blacklisted"].map((k) => ({ value: k, label: t(`registry.kind.${k}`), hint: t(`registry.kind_hint.${k}`) }))} />
    <${Field} label=${t("registry.restriction_reason")}>${(/** @type {any} */ f) => html`
      <textarea id=${f.id} rows="2" required maxlength="1000" value=${reason}
        onInput=${(/** @type {any} */ e) => setReason(e.currentTarget.value)}></textarea>`}<//>
    <${Choice} legend=${t("registry.restriction_period")} name="length" value=${length} onChange=${setLength}
      options=${[{ value: "until", label: t("registry.until_date") }, { value: "indefinite", label: t("registry.indefinitely") }]} />
    ${length === "until" && html`<${Field} label=${t("registry.end_date")}>${(/** @type {any} */ f) => html`
      <input id=${f.id} type="date" required value=${end} onInput=${(/** @type {any} */ e) => setEnd(e.currentTarget.value)} />`}<//>`}
    <button type="submit" class="danger">${t(`registry.impose.${kind}`)}</button>
  </form>`;
}

/** @param {{appealId: string, act: Act}} props */
function AnswerAppeal({ appealId, act }) {
  const [text, setText] = useState("");
  const id = `appeal-answer-${appealId}`;
  return html`<div class="field">
    <label for=${id}>${t("registry.appeal_answer")}</label>
    <textarea id=${id} rows="2" maxlength="1000" value=${text} onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)}></textarea>
    <div class="actions">${[true, false].map((upheld) => html`<button type="button" onClick=${() => act(
      `/appeals/${encodeURIComponent(appealId)}/answer`, { upheld, answer: text.trim() }, t("registry.appeal_answered"))}>
      ${t(upheld ? "registry.uphold" : "registry.dismiss")}</button>`)}</div>
  </div>`;
}

/**
 * What one recorded change says beyond its kind: the category, the reason, the period.
 * @param {any} e a registry event as recorded @param {SupplierAnswer} answer
 */
function detail(e, answer) {
  const title = (/** @type {string} */ sha) => answer.supplier.documents.find((d) => d.sha256 === sha)?.title ?? sha.slice(0, 12);
  switch (e.type) {
    case "registered": case "registration_updated":
      return `${e.registration.legal_name} · ${e.registration.identifier} · ${e.registration.categories.join(", ")}`;
    case "document_added": return `${e.document.title} (${t(`registry.doc_kinds.${e.document.kind}`)})`;
    case "categories_applied": return e.categories.join(", ");
    case "category_qualified":
      return [e.category, e.certificates.length ? t("registry.resting_on", { titles: e.certificates.map(title).join(", ") }) : "", e.reason]
        .filter(Boolean).join(" · ");
    case "category_rejected": return `${e.category} · ${e.reason}`;
    case "restricted": return `${t(`registry.kind.${e.kind}`)} · ${e.reason} · ${period(e.start_at, e.end_at)}`;
    case "restriction_lifted": return `${e.restriction_id} · ${e.reason}`;
    case "appeal_lodged": return `${e.about} · ${e.text}`;
    case "appeal_answered": return `${t(e.upheld ? "registry.appeal_upheld" : "registry.appeal_dismissed")} · ${e.answer}`;
    case "rated": return `${e.event_id} · ${e.delivery}/${e.quality}/${e.service}${e.comment ? ` · ${e.comment}` : ""}`;
    case "certificate_expired": return title(e.sha256);
    default: return e.restriction_id ?? "";
  }
}

/** @param {{entries: any[], answer: SupplierAnswer}} props */
function History({ entries, answer }) {
  if (!entries.length) return html`<p class="muted">${t("registry.no_history")}</p>`;
  return html`<${ScrollBox} label=${t("registry.history")}><table class="list" data-testid="history">
    <caption class="sr-only">${t("registry.history")}</caption>
    <thead><tr><th scope="col">${t("registry.when")}</th><th scope="col">${t("registry.who")}</th>
      <th scope="col">${t("registry.what")}</th><th scope="col">${t("registry.why")}</th></tr></thead>
    <tbody>${[...entries].reverse().map(({ event }) => html`<tr>
      <td>${dateTime(event.at)}</td><td>${event.by === "system" ? t("registry.by_system") : event.by}</td>
      <th scope="row">${t(`registry.events.${event.type}`)}</th><td>${detail(event, answer)}</td></tr>`)}</tbody>
  </table><//>`;
}
