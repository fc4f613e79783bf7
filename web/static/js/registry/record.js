// @ts-check
/**
 * A supplier's record as its pages show it: the supplier's own status page (`own.js`) and the
 * reviewer's and buyers' page of a supplier (`review.js`) draw the same parts, each from the
 * server's answer (`SupplierAnswer`): the registration, each category's standing, restrictions,
 * documents with their expiry, and appeals. The actions on them are the pages' own.
 */
import { html } from "../../vendor/ui.js";
import { t, dateTime, date, countryName } from "../i18n.js";
import { download, problemText } from "../api.js";
import { ScrollBox } from "../components/scroll-box.js";
import { announce } from "../components/announcer.js";
import {
  StatusBadge, standingText, period, restrictionState, restrictionInForce, supplierPath,
} from "./words.js";

/** @typedef {import("../wire").SupplierAnswer} SupplierAnswer */

/** What the supplier declared. @param {{answer: SupplierAnswer}} props */
export function RegistrationFacts({ answer }) {
  const r = answer.supplier.registration;
  return html`<dl class="figures" data-testid="registration">
    <div><dt>${t("registry.legal_name")}</dt><dd>${r.legal_name}</dd></div>
    <div><dt>${t("registry.country")}</dt><dd>${countryName(r.country)} (${r.country})</dd></div>
    <div><dt>${t("registry.identifier")}</dt><dd><code>${r.identifier}</code></dd></div>
    <div><dt>${t("registry.supplier_id")}</dt><dd><code>${answer.supplier.supplier_id}</code></dd></div>
    ${r.contacts.map((c) => html`<div><dt>${t("registry.contact")}</dt>
      <dd>${c.name}<div class="small">${c.email}${c.phone ? ` · ${c.phone}` : ""}</div></dd></div>`)}
  </dl>`;
}

/**
 * The restriction in force, said first and plainly: what, why, for how long.
 * @param {{answer: SupplierAnswer, own?: boolean}} props
 */
export function RestrictionNotice({ answer, own = false }) {
  const r = restrictionInForce(answer);
  if (!r) return null;
  return html`<div class="notice bad" data-testid="restriction-notice">
    <p>${t(own ? `registry.you_are.${r.kind}` : `registry.is.${r.kind}`)}</p>
    <p>${t("registry.reason_is", { reason: r.reason })}</p>
    <p>${period(r.start_at, r.end_at)}</p>
  </div>`;
}

/** Each category applied for: its status and whether it admits the supplier now, and why not.
 * @param {{answer: SupplierAnswer, children?: (code: string) => any}} props */
export function Standings({ answer, children }) {
  if (!answer.standings.length) return html`<p class="muted">${t("registry.no_categories")}</p>`;
  return html`<${ScrollBox} label=${t("registry.categories")}><table class="list" data-testid="standings">
    <caption class="sr-only">${t("registry.categories")}</caption>
    <thead><tr><th scope="col">${t("registry.category")}</th><th scope="col">${t("registry.status_col")}</th>
      <th scope="col">${t("registry.standing_col")}</th>
      ${children && html`<th scope="col"><span class="sr-only">${t("registry.actions")}</span></th>`}</tr></thead>
    <tbody>${answer.standings.map((s) => html`<tr data-category=${s.category}>
      <th scope="row"><code>${s.category}</code><div class="small">${s.name}</div></th>
      <td><${StatusBadge} status=${s.status} /></td>
      <td class=${s.eligible ? "good" : ""}>${standingText(s)}</td>
      ${children && html`<td>${children(s.category)}</td>`}
    </tr>`)}</tbody>
  </table><//>`;
}

/** Every restriction, in force or not, with its reason and period.
 * @param {{answer: SupplierAnswer, onLift?: (id: string) => void}} props */
export function Restrictions({ answer, onLift }) {
  const all = answer.supplier.restrictions;
  if (!all.length) return html`<p class="muted">${t("registry.no_restrictions")}</p>`;
  return html`<ul class="plain" data-testid="restrictions">${[...all].reverse().map((r) => {
    const state = restrictionState(r, answer.now);
    return html`<li data-restriction=${r.restriction_id}>
      <strong>${t(`registry.kind.${r.kind}`)}</strong> · <span class="badge">${t(`registry.restriction_state.${state}`)}</span>
      <p>${t("registry.reason_is", { reason: r.reason })}</p>
      <p class="small">${period(r.start_at, r.end_at)}</p>
      ${r.lifted_at !== null && html`<p class="small">${t("registry.lifted", { when: dateTime(r.lifted_at), reason: r.lift_reason })}</p>`}
      ${onLift && state !== "lifted" && state !== "ended" && html`<button type="button"
        onClick=${() => onLift(r.restriction_id)}>${t("registry.lift")}</button>`}
    </li>`;
  })}</ul>`;
}

/** The documents handed in, each downloadable, those expiring within 30 days warned of.
 * @param {{answer: SupplierAnswer}} props */
export function Documents({ answer }) {
  const docs = answer.supplier.documents;
  const soon = new Set(answer.expiring.map((d) => d.sha256));
  const id = answer.supplier.supplier_id;
  if (!docs.length) return html`<p class="muted">${t("registry.no_documents")}</p>`;
  return html`${answer.expiring.length > 0 && html`<p class="warning" data-testid="expiring">${t("registry.expiring_warning", {
      titles: answer.expiring.map((d) => `${d.title} (${date(d.expires_at)})`).join(", ") })}</p>`}
    <${ScrollBox} label=${t("registry.documents")}><table class="list" data-testid="documents">
    <caption class="sr-only">${t("registry.documents")}</caption>
    <thead><tr><th scope="col">${t("registry.doc_title")}</th><th scope="col">${t("registry.doc_kind")}</th>
      <th scope="col">${t("registry.doc_issuer")}</th><th scope="col">${t("registry.valid_from")}</th>
      <th scope="col">${t("registry.expires_at")}</th><th scope="col">${t("registry.file")}</th></tr></thead>
    <tbody>${docs.map((d) => {
      const expired = d.expires_at !== null && d.expires_at <= answer.now;
      return html`<tr data-document=${d.sha256}>
        <th scope="row">${d.title}${d.number ? html`<div class="small">${d.number}</div>` : ""}</th>
        <td>${t(`registry.doc_kinds.${d.kind}`)}</td>
        <td>${d.issuer || "—"}</td>
        <td>${date(d.valid_from)}</td>
        <td>${d.expires_at === null ? t("registry.no_expiry") : date(d.expires_at)}
          ${soon.has(d.sha256) && html` <span class="badge">${t("registry.expires_soon")}</span>`}
          ${expired && html` <span class="badge bad">${t("registry.expired")}</span>`}</td>
        <td><button type="button" class="link" onClick=${async () => {
          try {
            await download(supplierPath(id, `/files/${d.sha256}`), d.filename);
          } catch (e) {
            announce(problemText(e));
          }
        }}>${t("registry.download", { name: d.filename })}</button></td>
      </tr>`;
    })}</tbody>
  </table><//>`;
}

/** What an appeal is about, in words: a category or a restriction.
 * @param {SupplierAnswer} answer @param {string} about */
export function appealSubject(answer, about) {
  const decision = answer.standings.find((s) => s.category === about);
  if (decision) return t("registry.about_category", { code: about, name: decision.name });
  const r = answer.supplier.restrictions.find((x) => x.restriction_id === about);
  return r ? t("registry.about_restriction", { kind: t(`registry.kind.${r.kind}`), reason: r.reason }) : about;
}

/** Appeals and their answers (the supplier's and the reviewers' alone).
 * @param {{answer: SupplierAnswer, children?: (appealId: string) => any}} props */
export function Appeals({ answer, children }) {
  const all = answer.supplier.appeals;
  if (!all.length) return html`<p class="muted">${t("registry.no_appeals")}</p>`;
  return html`<ul class="plain" data-testid="appeals">${[...all].reverse().map((a) => html`<li data-appeal=${a.appeal_id}>
    <p><strong>${appealSubject(answer, a.about)}</strong> <span class="muted small">${dateTime(a.lodged_at)}</span></p>
    <p>${a.text}</p>
    ${a.upheld === null ? html`<p><span class="badge">${t("registry.appeal_open")}</span></p>`
      : html`<p class=${a.upheld ? "good" : "bad"}>${t(a.upheld ? "registry.appeal_upheld" : "registry.appeal_dismissed")}: ${a.answer}
        <span class="muted small">${a.answered_by} · ${dateTime(a.answered_at)}</span></p>`}
    ${a.upheld === null && children && children(a.appeal_id)}
  </li>`)}</ul>`;
}
