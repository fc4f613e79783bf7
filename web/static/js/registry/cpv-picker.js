// @ts-check
/**
 * Categories picked from the CPV 2008 list (9,458 codes): the server searches it
 * (`GET /api/categories?q=`, a code's start or words of its name) as the user types, and each
 * found code is a button that adds it. The chosen codes are a list with a button to remove each.
 * Buttons rather than a combobox: every step works with Tab and Enter and reads plainly.
 */
import { html, useEffect, useRef, useState } from "../../vendor/ui.js";
import { t } from "../i18n.js";
import { api, problemText } from "../api.js";
import { announce } from "../components/announcer.js";

const DEBOUNCE_MS = 250;

/**
 * @param {{value: string[], names: Record<string, string>, onChange: (codes: string[], names: Record<string, string>) => void,
 *   error?: string | null}} props
 */
export function CpvPicker({ value, names, onChange, error }) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState(/** @type {import("../wire").Category[]} */ ([]));
  const [failed, setFailed] = useState(/** @type {string | null} */ (null));
  const asked = useRef(0);

  useEffect(() => {
    const q = query.trim();
    if (!q) {
      setFound([]);
      return undefined;
    }
    const ticket = ++asked.current;
    const timer = setTimeout(async () => {
      try {
        const page = await api("GET", `/api/categories?q=${encodeURIComponent(q)}&limit=20`);
        if (ticket !== asked.current) return;
        setFound(page.items);
        setFailed(null);
        announce(t("registry.cpv_found", { count: page.items.length }));
      } catch (e) {
        setFailed(problemText(e));
      }
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query]);

  /** @param {import("../wire").Category} c */
  function add(c) {
    if (value.includes(c.code)) return;
    onChange([...value, c.code], { ...names, [c.code]: c.name });
    announce(t("registry.cpv_added", { code: c.code }));
  }

  /** @param {string} code */
  function remove(code) {
    onChange(value.filter((c) => c !== code), names);
    announce(t("registry.cpv_removed", { code }));
  }

  return html`<fieldset class=${`choice cpv ${error ? "has-error" : ""}`} aria-describedby=${error ? "cpv-error" : undefined}>
    <legend>${t("registry.categories")}</legend>
    ${value.length === 0 ? html`<p class="muted">${t("registry.cpv_none_chosen")}</p>`
      : html`<ul class="plain chosen" data-testid="chosen-categories" aria-label=${t("registry.cpv_chosen")}>${value.map((code) => html`<li>
        <code>${code}</code> ${names[code] ?? ""}
        <button type="button" class="link" onClick=${() => remove(code)}
          aria-label=${t("registry.cpv_remove", { code })}>${t("registry.remove")}</button></li>`)}</ul>`}
    <div class="field">
      <label for="cpv-search">${t("registry.cpv_search")}</label>
      <input id="cpv-search" type="search" autocomplete="off" value=${query} aria-describedby="cpv-hint"
        onInput=${(/** @type {any} */ e) => setQuery(e.currentTarget.value)}
        onKeyDown=${(/** @type {KeyboardEvent} */ e) => { if (e.key === "Enter") e.preventDefault(); }} />
      <p class="hint" id="cpv-hint">${t("registry.cpv_hint")}</p>
    </div>
    ${failed && html`<p class="error" role="alert">${failed}</p>`}
    ${found.length > 0 && html`<ul class="plain found" data-testid="cpv-results" aria-label=${t("registry.cpv_results")}>
      ${found.map((c) => html`<li><button type="button" class="link" disabled=${value.includes(c.code)}
        onClick=${() => add(c)}>${t("registry.cpv_add", { code: c.code, name: c.name })}</button></li>`)}</ul>`}
    ${error && html`<p class="error" id="cpv-error">${error}</p>`}
  </fieldset>`;
}
