// @ts-check
/**
 * The supplier's own record (`#/supplier`): the registration form until it is registered, then
 * its status page: the overall status, each category's standing (qualified, pending, rejected
 * with the reviewer's reason, suspended because a certificate expired), restrictions with their
 * reason and period, its documents with a warning for those expiring within 30 days, and its
 * appeals. This page is where a supplier learns of a restriction: an event it is refused never
 * says why (that is between the supplier and the platform).
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { t } from "../i18n.js";
import { api, problemText, ApiProblem } from "../api.js";
import { claims } from "../session.js";
import { Field } from "../components/field.js";
import { RegistrationForm } from "./registration.js";
import { UploadDocument } from "./upload.js";
import {
  RegistrationFacts, RestrictionNotice, Standings, Restrictions, Documents, Appeals, appealSubject,
} from "./record.js";
import { StatusBadge, supplierPath, restrictionState } from "./words.js";

/** @typedef {import("../wire").SupplierAnswer} SupplierAnswer */

export default function Own() {
  const id = claims()?.org ?? "";
  const [answer, setAnswer] = useState(/** @type {SupplierAnswer | null | undefined} */ (undefined));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [editing, setEditing] = useState(false);

  useEffect(() => {
    api("GET", supplierPath(id)).then(setAnswer, (e) => {
      if (e instanceof ApiProblem && e.reason === "not_registered") setAnswer(null);
      else setError(problemText(e));
    });
  }, [id]);

  /** @param {SupplierAnswer} next */
  const saved = (next) => {
    setAnswer(next);
    setEditing(false);
  };

  const heading = html`<h1 tabindex="-1">${t("registry.own_title")}</h1>`;
  if (error) return html`<section>${heading}<p class="error" role="alert">${error}</p></section>`;
  if (answer === undefined) return html`<section>${heading}<p role="status" class="muted">${t("shell.loading")}</p></section>`;
  if (answer === null) {
    return html`<section>${heading}
      <p>${t("registry.register_intro")}</p>
      <${RegistrationForm} onSaved=${saved} />
    </section>`;
  }
  const names = Object.fromEntries(answer.standings.map((s) => [s.category, s.name]));
  return html`<section>
    <div class="title-row">${heading}<span data-testid="status"><${StatusBadge} status=${answer.status} /></span></div>
    <p class="muted">${answer.supplier.registration.legal_name}</p>
    <${RestrictionNotice} answer=${answer} own=${true} />

    <section class="card" aria-labelledby="categories-title">
      <h2 id="categories-title">${t("registry.categories")}</h2>
      <${Standings} answer=${answer} />
    </section>

    <section class="card" aria-labelledby="restrictions-title">
      <h2 id="restrictions-title">${t("registry.restrictions")}</h2>
      <${Restrictions} answer=${answer} />
    </section>

    <section class="card" aria-labelledby="documents-title">
      <h2 id="documents-title">${t("registry.documents")}</h2>
      <${Documents} answer=${answer} />
    </section>
    <${UploadDocument} supplierId=${id} onDone=${setAnswer} />

    <section class="card" aria-labelledby="appeals-title">
      <h2 id="appeals-title">${t("registry.appeals")}</h2>
      <${Appeals} answer=${answer} />
      <${LodgeAppeal} answer=${answer} onDone=${setAnswer} />
    </section>

    <section class="card" aria-labelledby="facts-title">
      <h2 id="facts-title">${t("registry.registration")}</h2>
      <${RegistrationFacts} answer=${answer} />
      ${!editing && html`<button type="button" onClick=${() => setEditing(true)}>${t("registry.edit_registration")}</button>`}
    </section>
    ${editing && html`<${RegistrationForm} initial=${answer.supplier.registration} names=${names}
      supplierId=${id} onSaved=${saved} />`}
  </section>`;
}

/**
 * An appeal against a rejection or a restriction: what it is about and why.
 * @param {{answer: SupplierAnswer, onDone: (a: SupplierAnswer) => void}} props
 */
function LodgeAppeal({ answer, onDone }) {
  const subjects = [
    ...answer.standings.filter((s) => s.status === "rejected").map((s) => s.category),
    ...answer.supplier.restrictions.filter((r) => !["lifted", "ended"].includes(restrictionState(r, answer.now)))
      .map((r) => r.restriction_id),
  ];
  const [about, setAbout] = useState("");
  const [text, setText] = useState("");
  const [message, setMessage] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  if (!subjects.length) return html`<p class="hint">${t("registry.nothing_to_appeal")}</p>`;

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    try {
      const next = await api("POST", supplierPath(answer.supplier.supplier_id, "/appeals"),
        { appeal_id: crypto.randomUUID(), about: about || subjects[0], text: text.trim() });
      setText("");
      setMessage({ ok: true, text: t("registry.appeal_lodged") });
      onDone(next);
    } catch (e) {
      setMessage({ ok: false, text: problemText(e) });
    }
  }

  return html`<form onSubmit=${submit} aria-labelledby="appeal-title" data-testid="appeal-form">
    <h3 id="appeal-title">${t("registry.lodge_appeal")}</h3>
    <${Field} label=${t("registry.appeal_about")}>${(/** @type {any} */ f) => html`
      <select id=${f.id} value=${about || subjects[0]} onChange=${(/** @type {any} */ e) => setAbout(e.currentTarget.value)}>
        ${subjects.map((s) => html`<option value=${s}>${appealSubject(answer, s)}</option>`)}
      </select>`}<//>
    <${Field} label=${t("registry.appeal_text")}>${(/** @type {any} */ f) => html`
      <textarea id=${f.id} rows="3" required maxlength="1000" value=${text}
        onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)}></textarea>`}<//>
    ${message && html`<p class=${`result ${message.ok ? "good" : "bad"}`} role=${message.ok ? "status" : "alert"}>${message.text}</p>`}
    <button type="submit">${t("registry.send_appeal")}</button>
  </form>`;
}
