// @ts-check
/**
 * The registry's list (`#/suppliers`): for the platform's reviewers, the queue of suppliers with a
 * category awaiting review (`GET /api/suppliers?review=pending`), and for reviewers and buyers a
 * search by the start of the legal name or of the identifier, and by status. Ordered by legal
 * name, a page at a time (the server's cursor); each supplier opens its page.
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { t, countryName } from "../i18n.js";
import { api, problemText } from "../api.js";
import { claims } from "../session.js";
import { href } from "../router.js";
import { Field } from "../components/field.js";
import { ScrollBox } from "../components/scroll-box.js";
import { announce } from "../components/announcer.js";
import { StatusBadge, Rating } from "./words.js";

const STATUSES = ["pending", "qualified", "rejected", "suspended", "blacklisted"];

/** @typedef {{q: string, code: string, status: string, review: boolean}} Filters */

/** @param {Filters} f @param {string | null} cursor */
function query(f, cursor) {
  const params = new URLSearchParams({ limit: "20" });
  if (f.review) params.set("review", "pending");
  if (f.q.trim()) params.set("q", f.q.trim());
  if (f.code.trim()) params.set("code", f.code.trim());
  if (f.status) params.set("status", f.status);
  if (cursor) params.set("cursor", cursor);
  return `/api/suppliers?${params}`;
}

export default function Queue() {
  const reviewer = claims()?.role === "platform";
  const [filters, setFilters] = useState(/** @type {Filters} */ ({ q: "", code: "", status: "", review: reviewer }));
  const [draft, setDraft] = useState(filters);
  const [rows, setRows] = useState(/** @type {import("../wire").ListedSupplier[] | null} */ (null));
  const [cursor, setCursor] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));

  /** @param {Filters} f @param {string | null} from */
  async function load(f, from) {
    setError(null);
    try {
      const page = await api("GET", query(f, from));
      setRows((previous) => [...(from && previous ? previous : []), ...page.items]);
      setCursor(page.next_cursor);
      if (!from) announce(t("registry.found", { count: page.items.length }));
    } catch (e) {
      setError(problemText(e));
    }
  }
  useEffect(() => { void load(filters, null); }, [filters]);

  /** @param {Event} event */
  function search(event) {
    event.preventDefault();
    setFilters({ ...draft });
  }

  /** @param {keyof Filters} key */
  const set = (key) => (/** @type {any} */ e) => setDraft({ ...draft, [key]: e.currentTarget.type === "checkbox" ? e.currentTarget.checked : e.currentTarget.value });
  return html`<section>
    <h1 tabindex="-1">${t(reviewer ? "registry.queue_title" : "registry.search_title")}</h1>
    <form class="inline-form card" onSubmit=${search} role="search" aria-label=${t("registry.search")}>
      <${Field} label=${t("registry.search_name")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} type="search" value=${draft.q} onInput=${set("q")} />`}<//>
      <${Field} label=${t("registry.search_code")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} type="search" value=${draft.code} onInput=${set("code")} />`}<//>
      <${Field} label=${t("registry.status_col")}>${(/** @type {any} */ f) => html`
        <select id=${f.id} value=${draft.status} onChange=${set("status")}>
          <option value="">${t("registry.any_status")}</option>
          ${STATUSES.map((s) => html`<option value=${s}>${t(`registry.status.${s}`)}</option>`)}
        </select>`}<//>
      ${reviewer && html`<div class="field checkbox"><label>
        <input type="checkbox" checked=${draft.review} onChange=${set("review")} />${t("registry.awaiting_review")}</label></div>`}
      <button type="submit" class="primary">${t("registry.search")}</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${rows === null && !error && html`<p role="status" class="muted">${t("shell.loading")}</p>`}
    ${rows && rows.length === 0 && html`<p class="muted" data-testid="no-suppliers">${t(filters.review ? "registry.queue_empty" : "registry.none_found")}</p>`}
    ${rows && rows.length > 0 && html`<${ScrollBox} label=${t("registry.suppliers")}><table class="list" data-testid="supplier-list">
      <caption class="sr-only">${t("registry.suppliers")}</caption>
      <thead><tr><th scope="col">${t("registry.legal_name")}</th><th scope="col">${t("registry.country")}</th>
        <th scope="col">${t("registry.identifier")}</th><th scope="col">${t("registry.status_col")}</th>
        <th scope="col">${t("registry.rating_col")}</th></tr></thead>
      <tbody>${rows.map((s) => html`<tr data-supplier=${s.supplier_id}>
        <th scope="row"><a href=${href(`/suppliers/${encodeURIComponent(s.supplier_id)}`)}>${s.legal_name}</a>
          <div class="muted small">${s.supplier_id}</div></th>
        <td>${countryName(s.country)}</td>
        <td><code>${s.identifier}</code></td>
        <td><${StatusBadge} status=${s.status} /></td>
        <td><${Rating} rating=${s.rating} /></td>
      </tr>`)}</tbody>
    </table><//>`}
    ${cursor && html`<button type="button" onClick=${() => load(filters, cursor)}>${t("registry.more")}</button>`}
  </section>`;
}
