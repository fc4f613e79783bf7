// @ts-check
/**
 * The buyer's invitation picker: suppliers found in the registry by the start of their legal
 * name, with, for an event of a category, each one's eligibility in it (the server's standing:
 * eligible, or why not) and its buyers' rating. An ineligible supplier cannot be picked and says
 * why. The invitation itself is still the server's to accept (409 `supplier_not_eligible`, in
 * words); a supplier outside the registry is still invited by its id, by hand, where the event
 * has no category.
 */
import { html, useState } from "../../vendor/ui.js";
import { t, countryName } from "../i18n.js";
import { api, problemText } from "../api.js";
import { announce } from "../components/announcer.js";
import { StatusBadge, Rating, standingText } from "./words.js";

/**
 * @param {{category: string | null, invited: ReadonlyArray<string>,
 *   invite: (supplier: string, name: string) => Promise<boolean>}} props
 */
export function InvitePicker({ category, invited, invite }) {
  const [q, setQ] = useState("");
  const [rows, setRows] = useState(/** @type {import("../wire").ListedSupplier[] | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));

  /** @param {Event} event */
  async function search(event) {
    event.preventDefault();
    setError(null);
    const params = new URLSearchParams({ limit: "20" });
    if (q.trim()) params.set("q", q.trim());
    if (category) params.set("category", category);
    try {
      const page = await api("GET", `/api/suppliers?${params}`);
      setRows(page.items);
      announce(t("registry.found", { count: page.items.length }));
    } catch (e) {
      setError(problemText(e));
    }
  }

  return html`<div class="picker" data-testid="invite-picker">
    <h3 id="picker-title">${t("registry.picker_title")}</h3>
    <p class="hint">${category ? t("registry.picker_category", { code: category }) : t("registry.picker_no_category")}</p>
    <form class="inline-form" role="search" aria-labelledby="picker-title" onSubmit=${search}>
      <div class="field"><label for="picker-q">${t("registry.search_name")}</label>
        <input id="picker-q" type="search" value=${q} onInput=${(/** @type {any} */ e) => setQ(e.currentTarget.value)} /></div>
      <button type="submit">${t("registry.search")}</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${rows && rows.length === 0 && html`<p class="muted">${t("registry.none_found")}</p>`}
    ${rows && rows.length > 0 && html`<ul class="plain found" aria-label=${t("registry.suppliers")} data-testid="picker-results">
      ${rows.map((s) => {
        const eligible = s.standing ? s.standing.eligible : true;
        const already = invited.includes(s.supplier_id);
        const whyId = `picker-why-${s.supplier_id}`;
        return html`<li data-supplier=${s.supplier_id} class="pick">
          <div><strong>${s.legal_name}</strong> <span class="muted small">${s.supplier_id} · ${countryName(s.country)} · ${s.identifier}</span></div>
          <div class="small"><${StatusBadge} status=${s.status} /> · <${Rating} rating=${s.rating} /></div>
          ${s.standing && html`<p id=${whyId} class=${`small ${eligible ? "good" : "bad"}`} data-testid="eligibility">${standingText(s.standing)}</p>`}
          <button type="button" disabled=${!eligible || already} aria-describedby=${s.standing ? whyId : undefined}
            onClick=${() => invite(s.supplier_id, s.legal_name)}>
            ${t(already ? "registry.already_invited" : "registry.invite_named", { name: s.legal_name })}</button>
        </li>`;
      })}</ul>`}
  </div>`;
}
