// @ts-check
/**
 * Sign-in. In production the platform hands the page its token (pasted here, or in a join
 * link). A server running with its generated key offers development sign-in instead: pick a
 * role and an organisation and it mints a token; the page says plainly that this is for
 * development only (the server turns it off when an operator configures a key).
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { t } from "../i18n.js";
import { api, problemText } from "../api.js";
import { signIn, claimsOf } from "../session.js";
import { go } from "../router.js";
import { home } from "./nav.js";
import { Field } from "../components/field.js";

/** @param {{next?: string}} props */
export default function SignIn({ next = "/auctions" }) {
  const [dev, setDev] = useState(/** @type {boolean | null} */ (null));
  const [role, setRole] = useState("buyer");
  const [org, setOrg] = useState("");
  const [name, setName] = useState("");
  const [pasted, setPasted] = useState("");
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api("GET", "/api/session").then((s) => setDev(Boolean(s.dev_sign_in)), () => setDev(false));
  }, []);

  /** @param {Event} event */
  async function devSignIn(event) {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const body = { role, org: org.trim(), ...(name.trim() ? { name: name.trim() } : {}) };
      const minted = await api("POST", "/api/dev/tokens", body);
      signIn(minted.token);
      go(role === "supplier" && next.startsWith("/auctions/") ? next.replace("/auctions/", "/room/")
        : role === "platform" && next === "/auctions" ? home("platform") : next);
    } catch (e) {
      setError(problemText(e));
    } finally {
      setBusy(false);
    }
  }

  /** @param {Event} event */
  function tokenSignIn(event) {
    event.preventDefault();
    const value = pasted.trim();
    if (!claimsOf(value)) {
      setError(t("signin.token_unreadable"));
      return;
    }
    signIn(value);
    go(next);
  }

  return html`<section class="narrow">
    <h1 tabindex="-1">${t("signin.title")}</h1>
    ${dev && html`<form onSubmit=${devSignIn} class="card" aria-labelledby="dev-heading">
      <h2 id="dev-heading">${t("signin.dev_heading")}</h2>
      <p class="warning">${t("signin.dev_warning")}</p>
      <${Field} label=${t("signin.role")}>${(/** @type {any} */ f) => html`
        <select id=${f.id} value=${role} onChange=${(/** @type {any} */ e) => setRole(e.currentTarget.value)}>
          <option value="buyer">${t("roles.buyer")}</option>
          <option value="supplier">${t("roles.supplier")}</option>
          <option value="observer">${t("roles.observer")}</option>
          <option value="platform">${t("roles.platform")}</option>
        </select>`}<//>
      <${Field} label=${t("signin.org")} hint=${t("signin.org_hint")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} aria-describedby=${f.describedBy} required pattern="[A-Za-z0-9._:\\-]+"
          maxlength="64" value=${org} onInput=${(/** @type {any} */ e) => setOrg(e.currentTarget.value)} />`}<//>
      <${Field} label=${t("signin.name")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} maxlength="200" value=${name}
          onInput=${(/** @type {any} */ e) => setName(e.currentTarget.value)} />`}<//>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>${t("signin.submit")}</button>
    </form>`}
    <form onSubmit=${tokenSignIn} class="card" aria-labelledby="token-heading">
      <h2 id="token-heading">${t("signin.token_heading")}</h2>
      <${Field} label=${t("signin.token")} hint=${t("signin.token_hint")}>${(/** @type {any} */ f) => html`
        <textarea id=${f.id} aria-describedby=${f.describedBy} rows="3" required value=${pasted}
          onInput=${(/** @type {any} */ e) => setPasted(e.currentTarget.value)}></textarea>`}<//>
      ${error && !dev && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" class=${dev ? "" : "primary"}>${t("signin.token_submit")}</button>
    </form>
  </section>`;
}
