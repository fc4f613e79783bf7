// @ts-check
/**
 * The supplier's part of a tender's page: its sealed bid and its questions.
 *
 * The bid is sealed here, in the page (`sealing.js`: HPKE to the tender's public key), and only
 * the sealed bytes and their commitment are sent: the prices typed never leave the browser in
 * clear, and nobody, the platform's operators included, can read them before k officers open
 * the tender. Each submission, revision and withdrawal is answered with the server's signed
 * receipt, which the supplier downloads and keeps (`bidserver receipt verify` checks it).
 *
 * A tender with terms shows them first, with the button to accept them, and the bid form once
 * they are accepted; a supplier the registry restricts is told why (its own record's words).
 */
import { html, useState } from "../../../vendor/ui.js";
import { t, dateTime, parseAmount, amountInput } from "../../i18n.js";
import { api, problemText, putBytes, saveBlob } from "../../api.js";
import { useConfirm } from "../../components/dialog.js";
import { announce } from "../../components/announcer.js";
import { claims } from "../../session.js";
import { sealBid, sealDocument, toBase64 } from "../../sealing.js";
import { TermsGate } from "../../components/terms.js";
import { OwnStandingNotice } from "../../registry/standing-notice.js";

/**
 * @param {{id: string, view: import("../../wire").TenderView, you: import("../../wire").BidderView, fmt: (m: number | null | undefined) => string}} props
 */
export function SupplierDesk({ id, view, you }) {
  const open = view.phase === "published" || view.phase === "submission";
  // Terms not accepted yet: they come first, and the bid form after (the server refuses a bid
  // before, `terms_not_accepted`).
  const termsPending = Boolean(view.terms && !you.terms_accepted);
  return html`<${OwnStandingNotice} restricted=${you.restricted} category=${view.category} />
    ${open && termsPending && view.terms && html`<${TermsGate} terms=${view.terms} path=${`/api/tenders/${encodeURIComponent(id)}`} />`}
    <${BidForm} id=${id} view=${view} you=${you} open=${open && !termsPending && !you.restricted} />
    <${Questions} id=${id} view=${view} you=${you} />`;
}

/** @param {{id: string, view: import("../../wire").TenderView, you: import("../../wire").BidderView, open: boolean}} props */
function BidForm({ id, view, you, open }) {
  const bid = you.bid;
  const [prices, setPrices] = useState(/** @type {Record<string, string>} */ (
    Object.fromEntries(view.lots.map((l) => [l.lot_id, ""]))));
  const [security, setSecurity] = useState("");
  const rfq = view.procedure === "rfq";
  const [terms, setTerms] = useState({ delivery: "", validity: "", certificates: "" });
  const [files, setFiles] = useState(/** @type {File[]} */ ([]));
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState(/** @type {{ok: boolean, text: string} | null} */ (null));
  const [receipt, setReceipt] = useState(/** @type {any} */ (null));
  const [dialog, ask] = useConfirm();
  const path = `/api/tenders/${encodeURIComponent(id)}`;

  /** The amounts typed, in minor units; null (and a message) when one is not an amount. */
  function amounts() {
    const lots = [];
    for (const lot of view.lots) {
      const text = prices[lot.lot_id].trim();
      if (!text) continue; // a bid need not cover every lot
      const amount = parseAmount(text, view.minor_units);
      if (amount === null || amount <= 0) {
        setMessage({ ok: false, text: t("tender.not_an_amount", { lot: lot.title }) });
        return null;
      }
      lots.push({ lot_id: lot.lot_id, amount });
    }
    if (lots.length === 0) {
      setMessage({ ok: false, text: t("tender.no_prices") });
      return null;
    }
    return lots;
  }

  /** Each attached file sealed in the page and uploaded (its sealed bytes only); the bid names
   * them by the commitment of those bytes. */
  async function uploadDocuments() {
    const documents = [];
    for (const file of files) {
      const { sealed, commitment } = await sealDocument(view.suite, view.public_key, view.tender_id,
        new Uint8Array(await file.arrayBuffer()));
      await putBytes(`${path}/files/${commitment.slice("sha256:".length)}`, sealed);
      documents.push({ name: file.name, digest: commitment });
    }
    return documents;
  }

  /** An RFQ quote's terms, sealed with its prices; null (and a message) when one is missing. */
  function quoteTerms() {
    const delivery = Number(terms.delivery);
    const validity = Number(terms.validity);
    if (terms.delivery.trim() === "" || !Number.isInteger(delivery) || delivery < 0
        || terms.validity.trim() === "" || !Number.isInteger(validity) || validity < 1) {
      setMessage({ ok: false, text: t("rfq.terms_required") });
      return null;
    }
    const certificates = [...new Set(terms.certificates.split(/[,，;\n]/).map((c) => c.trim()).filter(Boolean))];
    return { delivery_days: delivery, validity_days: validity, certificates };
  }

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    const lots = amounts();
    if (!lots) return;
    if (view.bid_security && !security.trim()) {
      setMessage({ ok: false, text: t("tender.security_required") });
      return;
    }
    const quote = rfq ? quoteTerms() : {};
    if (!quote) return;
    setBusy(true);
    setMessage(null);
    try {
      const documents = await uploadDocuments();
      const { sealed, commitment } = await sealBid(view.suite, view.public_key, {
        tender_id: view.tender_id, supplier: claims()?.org ?? "", currency: view.currency, lots,
        bid_security_ref: view.bid_security ? security.trim() : null, ...quote,
        ...(documents.length ? { documents } : {}),
      });
      // A revision is a new bid (its own id) that replaces the one in the path.
      const body = { bid_id: crypto.randomUUID(), sealed: toBase64(sealed), commitment };
      const answer = await api("POST", bid ? `${path}/bids/${encodeURIComponent(bid.bid_id)}/revision` : `${path}/bids`, body);
      setReceipt(answer.receipt ?? null);
      const text = t(bid ? "tender.revised" : "tender.submitted", { commitment });
      setMessage({ ok: true, text });
      announce(text);
      setPrices(Object.fromEntries(view.lots.map((l) => [l.lot_id, ""])));
      setFiles([]);
    } catch (e) {
      setMessage({ ok: false, text: problemText(e) });
    } finally {
      setBusy(false);
    }
  }

  async function withdraw() {
    if (!bid) return;
    const answer = await ask({ title: t("tender.withdraw"), body: t("tender.withdraw_body"),
      confirm: t("tender.withdraw"), danger: true });
    if (!answer) return;
    try {
      const reply = await api("POST", `${path}/bids/${encodeURIComponent(bid.bid_id)}/withdrawal`);
      setReceipt(reply.receipt ?? null);
      setMessage({ ok: true, text: t("tender.withdrawn") });
    } catch (e) {
      setMessage({ ok: false, text: problemText(e) });
    }
  }

  async function confirm() {
    if (!bid) return;
    try {
      await api("POST", `${path}/bids/${encodeURIComponent(bid.bid_id)}/confirmation`,
        { documents_hash: view.documents_hash });
      setMessage({ ok: true, text: t("tender.confirmed") });
    } catch (e) {
      setMessage({ ok: false, text: problemText(e) });
    }
  }

  function download() {
    saveBlob(new Blob([JSON.stringify(receipt, null, 2)], { type: "application/json" }),
      `receipt-${view.tender_id}-${receipt.receipt?.kind ?? "bid"}.json`);
  }

  return html`<section class="card" aria-labelledby="bid-title">
    ${dialog}
    <h2 id="bid-title">${t("tender.your_bid")}</h2>
    ${bid ? html`<dl class="figures" data-testid="your-bid">
        <div><dt>${t("tender.received_at")}</dt><dd>${dateTime(bid.received_at)}</dd></div>
        <div><dt>${t("tender.commitment")}</dt><dd class="small"><code class="digest">${bid.commitment.slice(0, 23)}…</code></dd></div>
      </dl>
      ${bid.needs_confirmation && html`<p class="warning">${t("tender.needs_confirmation")}
        <button type="button" onClick=${confirm}>${t("tender.confirm")}</button></p>`}`
      : html`<p class="muted" data-testid="no-bid">${t("tender.no_bid_yet")}</p>`}
    ${open && html`<form class="bid-form" onSubmit=${submit}>
      <p class="hint">${t("tender.sealed_here")}</p>
      ${view.lots.map((/** @type {any} */ lot) => html`<div class="field">
        <label for=${`price-${lot.lot_id}`}>${t("tender.price_for", { lot: lot.title, currency: view.currency })}</label>
        <input id=${`price-${lot.lot_id}`} inputmode="decimal" autocomplete="off" value=${prices[lot.lot_id]}
          placeholder=${amountInput(0, view.minor_units)}
          onInput=${(/** @type {any} */ e) => setPrices({ ...prices, [lot.lot_id]: e.currentTarget.value })} /></div>`)}
      ${rfq && html`<div class="grid">
        <div class="field"><label for="delivery">${t("rfq.delivery_days")}</label>
          <input id="delivery" type="number" min="0" step="1" value=${terms.delivery}
            onInput=${(/** @type {any} */ e) => setTerms({ ...terms, delivery: e.currentTarget.value })} /></div>
        <div class="field"><label for="validity">${t("rfq.validity_days")}</label>
          <input id="validity" type="number" min="1" step="1" value=${terms.validity}
            onInput=${(/** @type {any} */ e) => setTerms({ ...terms, validity: e.currentTarget.value })} /></div>
        <div class="field"><label for="certificates">${t("rfq.your_certificates")}</label>
          <input id="certificates" value=${terms.certificates} aria-describedby="certificates-hint"
            onInput=${(/** @type {any} */ e) => setTerms({ ...terms, certificates: e.currentTarget.value })} />
          <p class="hint" id="certificates-hint">${t("rfq.certificates_hint")}</p></div></div>`}
      <div class="field"><label for="documents">${t("tender.documents_attach")}</label>
        <input id="documents" type="file" multiple aria-describedby="documents-hint"
          onChange=${(/** @type {any} */ e) => setFiles([...e.currentTarget.files])} />
        <p class="hint" id="documents-hint">${t("tender.documents_hint")}</p></div>
      ${view.bid_security && html`<div class="field"><label for="security">${t("tender.security_ref")}</label>
        <input id="security" value=${security} onInput=${(/** @type {any} */ e) => setSecurity(e.currentTarget.value)} /></div>`}
      <div class="actions">
        <button type="submit" class="primary" disabled=${busy}>${t(bid ? "tender.revise" : "tender.seal_submit")}</button>
        ${bid && html`<button type="button" class="danger" onClick=${withdraw}>${t("tender.withdraw")}</button>`}
      </div>
    </form>`}
    ${message && html`<p class=${`result ${message.ok ? "good" : "bad"}`} role=${message.ok ? "status" : "alert"}
      data-testid="bid-result">${message.text}</p>`}
    ${receipt && html`<button type="button" onClick=${download} data-testid="receipt">${t("tender.download_receipt")}</button>`}
  </section>`;
}

/** @param {{id: string, view: import("../../wire").TenderView, you: import("../../wire").BidderView}} props */
function Questions({ id, view, you }) {
  const [text, setText] = useState("");
  const [message, setMessage] = useState(/** @type {string | null} */ (null));
  const asking = view.phase === "published"; // the enquiry period: the server says when it ends

  /** @param {Event} event */
  async function ask(event) {
    event.preventDefault();
    if (!text.trim()) return;
    try {
      await api("POST", `/api/tenders/${encodeURIComponent(id)}/questions`,
        { question_id: crypto.randomUUID(), text: text.trim() });
      setText("");
      setMessage(t("tender.asked"));
    } catch (e) {
      setMessage(problemText(e));
    }
  }

  return html`<section class="card" aria-labelledby="questions-title">
    <h2 id="questions-title">${t("tender.your_questions")}</h2>
    ${you.questions.length === 0 ? html`<p class="muted">${t("tender.no_questions")}</p>`
      : html`<ul data-testid="your-questions">${you.questions.map((q) => html`<li>
        ${q.text} <span class="muted small">${q.answer ? t("tender.answered", { number: q.number }) : t("tender.unanswered")}</span></li>`)}</ul>`}
    ${asking && html`<form onSubmit=${ask}>
      <div class="field"><label for="question">${t("tender.ask")}</label>
        <textarea id="question" rows="3" value=${text} onInput=${(/** @type {any} */ e) => setText(e.currentTarget.value)}></textarea>
        <p class="hint">${t("tender.ask_hint")}</p></div>
      <button type="submit">${t("tender.ask_send")}</button>
    </form>`}
    ${message && html`<p role="status" data-testid="question-result">${message}</p>`}
  </section>`;
}
