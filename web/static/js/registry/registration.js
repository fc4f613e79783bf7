// @ts-check
/**
 * A supplier's registration: legal name, country, company identifier, contacts and the
 * categories it applies for. The same form registers (`POST /api/suppliers`) and, later,
 * replaces the registration (`PUT /api/suppliers/{id}/registration`).
 *
 * The identifier is checked by the server with its country's rules (China's unified social
 * credit code and its check character, EU and UK VAT numbers and their checksums); the form says
 * what is expected for the chosen country and shows the server's refusal by the field it names.
 */
import { html, useState } from "../../vendor/ui.js";
import { t, countryName, language } from "../i18n.js";
import { api, problemText, ApiProblem } from "../api.js";
import { Field } from "../components/field.js";
import { announce } from "../components/announcer.js";
import { CpvPicker } from "./cpv-picker.js";

// ISO 3166-1 alpha-2 codes, offered by their names in the chosen language (the server checks).
const COUNTRIES = `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK
LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG
NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW`.split(/\s+/);
// Whose identifier is a VAT number (the hint's words; the rules are the server's).
const EU = new Set("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split(" "));

/** What the identifier field expects for `country`. @param {string} country */
function identifierHint(country) {
  if (country === "CN") return t("registry.identifier_hint_cn");
  if (EU.has(country)) return t("registry.identifier_hint_eu", { prefix: country === "GR" ? "EL" : country });
  if (country === "GB") return t("registry.identifier_hint_gb");
  return t("registry.identifier_hint_any");
}

/** @typedef {{name: string, email: string, phone: string}} ContactDraft */

/**
 * @param {{initial?: import("../wire").Registration, names?: Record<string, string>,
 *   supplierId?: string, onSaved: (answer: import("../wire").SupplierAnswer) => void}} props
 *   `supplierId` given: the registration is replaced; absent: the supplier registers.
 */
export function RegistrationForm({ initial, names: knownNames = {}, supplierId, onSaved }) {
  const [legalName, setLegalName] = useState(initial?.legal_name ?? "");
  const [country, setCountry] = useState(initial?.country ?? (language() === "zh" ? "CN" : ""));
  const [identifier, setIdentifier] = useState(initial?.identifier ?? "");
  const [contacts, setContacts] = useState(/** @type {ContactDraft[]} */ (
    initial?.contacts.map((c) => ({ name: c.name, email: c.email, phone: c.phone })) ?? [{ name: "", email: "", phone: "" }]));
  const [categories, setCategories] = useState(/** @type {string[]} */ ([...(initial?.categories ?? [])]));
  const [names, setNames] = useState(knownNames);
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);

  const countries = COUNTRIES.map((code) => ({ code, name: countryName(code) }))
    .sort((a, b) => a.name.localeCompare(b.name, language() === "zh" ? "zh-CN" : "en"));

  /** @param {number} i @param {keyof ContactDraft} key @param {string} v */
  function setContact(i, key, v) {
    setContacts(contacts.map((c, j) => (j === i ? { ...c, [key]: v } : c)));
  }

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    setErrors({});
    setMessage(null);
    if (!categories.length) {
      setErrors({ "registration.categories": t("registry.cpv_required") });
      return;
    }
    const registration = {
      legal_name: legalName.trim(), country, identifier: identifier.trim(),
      contacts: contacts.filter((c) => c.name.trim() || c.email.trim())
        .map((c) => ({ name: c.name.trim(), email: c.email.trim(), ...(c.phone.trim() ? { phone: c.phone.trim() } : {}) })),
      categories,
    };
    setBusy(true);
    try {
      const answer = supplierId
        ? await api("PUT", `/api/suppliers/${encodeURIComponent(supplierId)}/registration`, { registration })
        : await api("POST", "/api/suppliers", { registration });
      announce(t(supplierId ? "registry.registration_saved" : "registry.registered"));
      onSaved(answer);
    } catch (e) {
      const field = e instanceof ApiProblem ? String(e.extra.field ?? "") : "";
      const words = problemText(e) + (e instanceof ApiProblem && e.detail ? ` (${e.detail})` : "");
      const known = ["registration.legal_name", "registration.country", "registration.identifier",
        "registration.contacts", "registration.categories"];
      const at = known.find((k) => field.startsWith(k));
      if (at) {
        setErrors({ [at]: words });
        announce(words);
        requestAnimationFrame(() => {
          const control = document.querySelector(`[data-field="${at}"] :is(input, select)`);
          if (control instanceof HTMLElement) control.focus();
        });
      } else {
        setMessage(words);
      }
    } finally {
      setBusy(false);
    }
  }

  return html`<form onSubmit=${submit} class="card" aria-labelledby="registration-title" data-testid="registration-form">
    <h2 id="registration-title">${t(supplierId ? "registry.edit_registration" : "registry.register_heading")}</h2>
    <div data-field="registration.legal_name"><${Field} label=${t("registry.legal_name")} error=${errors["registration.legal_name"]}>${(/** @type {any} */ f) => html`
      <input id=${f.id} aria-describedby=${f.describedBy} aria-invalid=${f.invalid} required maxlength="200"
        autocomplete="organization" value=${legalName} onInput=${(/** @type {any} */ e) => setLegalName(e.currentTarget.value)} />`}<//></div>
    <div class="grid">
      <div data-field="registration.country"><${Field} label=${t("registry.country")} error=${errors["registration.country"]}>${(/** @type {any} */ f) => html`
        <select id=${f.id} aria-describedby=${f.describedBy} aria-invalid=${f.invalid} required value=${country}
          onChange=${(/** @type {any} */ e) => setCountry(e.currentTarget.value)}>
          <option value="">${t("registry.choose_country")}</option>
          ${countries.map((c) => html`<option value=${c.code}>${c.name} (${c.code})</option>`)}
        </select>`}<//></div>
      <div data-field="registration.identifier"><${Field} label=${t("registry.identifier")} hint=${identifierHint(country)}
          error=${errors["registration.identifier"]}>${(/** @type {any} */ f) => html`
        <input id=${f.id} aria-describedby=${f.describedBy} aria-invalid=${f.invalid} required maxlength="64"
          autocomplete="off" spellcheck=${false} value=${identifier} onInput=${(/** @type {any} */ e) => setIdentifier(e.currentTarget.value)} />`}<//></div>
    </div>
    <fieldset class="choice" data-field="registration.contacts">
      <legend>${t("registry.contacts")}</legend>
      ${contacts.map((c, i) => html`<div class="grid contact">
        <div class="field"><label for=${`contact-name-${i}`}>${t("registry.contact_name", { n: i + 1 })}</label>
          <input id=${`contact-name-${i}`} required=${i === 0} maxlength="200" autocomplete="name" value=${c.name}
            onInput=${(/** @type {any} */ e) => setContact(i, "name", e.currentTarget.value)} /></div>
        <div class="field"><label for=${`contact-email-${i}`}>${t("registry.contact_email", { n: i + 1 })}</label>
          <input id=${`contact-email-${i}`} type="email" required=${i === 0} maxlength="254" autocomplete="email" value=${c.email}
            onInput=${(/** @type {any} */ e) => setContact(i, "email", e.currentTarget.value)} /></div>
        <div class="field"><label for=${`contact-phone-${i}`}>${t("registry.contact_phone", { n: i + 1 })}</label>
          <input id=${`contact-phone-${i}`} type="tel" maxlength="32" autocomplete="tel" value=${c.phone}
            onInput=${(/** @type {any} */ e) => setContact(i, "phone", e.currentTarget.value)} /></div>
        ${i > 0 && html`<button type="button" class="link" onClick=${() => setContacts(contacts.filter((_, j) => j !== i))}>
          ${t("registry.remove_contact", { n: i + 1 })}</button>`}
      </div>`)}
      ${contacts.length < 5 && html`<button type="button" onClick=${() => setContacts([...contacts, { name: "", email: "", phone: "" }])}>
        ${t("registry.add_contact")}</button>`}
      ${errors["registration.contacts"] && html`<p class="error">${errors["registration.contacts"]}</p>`}
    </fieldset>
    <${CpvPicker} value=${categories} names=${names} error=${errors["registration.categories"]}
      onChange=${(/** @type {string[]} */ codes, /** @type {Record<string, string>} */ n) => { setCategories(codes); setNames(n); }} />
    ${message && html`<p class="error" role="alert" data-testid="registration-result">${message}</p>`}
    <button type="submit" class="primary" disabled=${busy}>${t(supplierId ? "registry.save_registration" : "registry.register")}</button>
  </form>`;
}
