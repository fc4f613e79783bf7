// @ts-check
/**
 * A licence or certificate handed in: the page reads the file, names it by the SHA-256 of its
 * bytes (WebCrypto), uploads the bytes under that name (`PUT .../files/{sha256}`, which the
 * server checks against the bytes it stores) and then describes it (`POST .../documents`: kind,
 * title, issuer, number, validity). Uploading the same file again is harmless: the server keeps
 * one copy per digest.
 */
import { html, useState } from "../../vendor/ui.js";
import { t } from "../i18n.js";
import { api, problemText, putBytes, ApiProblem } from "../api.js";
import { Field } from "../components/field.js";
import { dayStart, supplierPath } from "./words.js";

/** The SHA-256 of `bytes` as 64 lowercase hex digits. @param {Uint8Array} bytes */
async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", /** @type {BufferSource} */ (bytes)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

const today = () => new Date().toISOString().slice(0, 10);

/** @param {{supplierId: string, onDone: (answer: import("../wire").SupplierAnswer) => void}} props */
export function UploadDocument({ supplierId, onDone }) {
  const [file, setFile] = useState(/** @type {File | null} */ (null));
  const [kind, setKind] = useState("certificate");
  const [title, setTitle] = useState("");
  const [issuer, setIssuer] = useState("");
  const [number, setNumber] = useState("");
  const [validFrom, setValidFrom] = useState(today());
  const [expiresAt, setExpiresAt] = useState("");
  const [message, setMessage] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  const [busy, setBusy] = useState(false);

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setMessage(null);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const digest = await sha256Hex(bytes);
      await putBytes(supplierPath(supplierId, `/files/${digest}`), bytes);
      const answer = await api("POST", supplierPath(supplierId, "/documents"), {
        sha256: digest, kind, title: title.trim(), filename: file.name,
        valid_from: dayStart(validFrom) ?? Date.now(),
        ...(issuer.trim() ? { issuer: issuer.trim() } : {}),
        ...(number.trim() ? { number: number.trim() } : {}),
        ...(expiresAt ? { expires_at: dayStart(expiresAt) } : {}),
      });
      setMessage({ ok: true, text: t("registry.uploaded", { title: title.trim() }) });
      setTitle("");
      setIssuer("");
      setNumber("");
      setExpiresAt("");
      setFile(null);
      /** @type {HTMLFormElement} */ (event.target).reset();
      onDone(answer);
    } catch (e) {
      const detail = e instanceof ApiProblem && e.detail ? ` (${e.detail})` : "";
      setMessage({ ok: false, text: problemText(e) + detail });
    } finally {
      setBusy(false);
    }
  }

  /** @param {(v: string) => void} set */
  const onInput = (set) => (/** @type {any} */ e) => set(e.currentTarget.value);
  return html`<form onSubmit=${submit} class="card" aria-labelledby="upload-title" data-testid="upload-form">
    <h2 id="upload-title">${t("registry.upload_heading")}</h2>
    <p class="hint">${t("registry.upload_hint")}</p>
    <${Field} label=${t("registry.file")}>${(/** @type {any} */ f) => html`
      <input id=${f.id} type="file" required onChange=${(/** @type {any} */ e) => setFile(e.currentTarget.files?.[0] ?? null)} />`}<//>
    <div class="grid">
      <${Field} label=${t("registry.doc_kind")}>${(/** @type {any} */ f) => html`
        <select id=${f.id} value=${kind} onChange=${onInput(setKind)}>
          <option value="certificate">${t("registry.doc_kinds.certificate")}</option>
          <option value="licence">${t("registry.doc_kinds.licence")}</option>
        </select>`}<//>
      <${Field} label=${t("registry.doc_title")} hint=${t("registry.doc_title_hint")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} aria-describedby=${f.describedBy} required maxlength="200" value=${title} onInput=${onInput(setTitle)} />`}<//>
      <${Field} label=${t("registry.doc_issuer")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} maxlength="200" value=${issuer} onInput=${onInput(setIssuer)} />`}<//>
      <${Field} label=${t("registry.doc_number")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} maxlength="100" value=${number} onInput=${onInput(setNumber)} />`}<//>
      <${Field} label=${t("registry.valid_from")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} type="date" required value=${validFrom} onInput=${onInput(setValidFrom)} />`}<//>
      <${Field} label=${t("registry.expires_at")} hint=${t("registry.expires_hint")}>${(/** @type {any} */ f) => html`
        <input id=${f.id} type="date" aria-describedby=${f.describedBy} value=${expiresAt} onInput=${onInput(setExpiresAt)} />`}<//>
    </div>
    ${message && html`<p class=${`result ${message.ok ? "good" : "bad"}`} role=${message.ok ? "status" : "alert"}
      data-testid="upload-result">${message.text}</p>`}
    <button type="submit" class="primary" disabled=${busy || !file}>${t(busy ? "registry.uploading" : "registry.upload")}</button>
  </form>`;
}
