// @ts-check
/**
 * Create a reverse auction: one form whose every rule says what it does. The form checks what it
 * can read itself (a number is a number, an amount has the currency's decimals); the rules of
 * the auction are the engine's, so the server's refusal is shown next to the field it names
 * (`field` in the problem details) and nothing is saved until the server accepts it.
 */
import { html, useState } from "../../../vendor/ui.js";
import { t, currencyDigits, parseAmount } from "../../i18n.js";
import { api, ApiProblem, reasonText } from "../../api.js";
import { go } from "../../router.js";
import { Field, Choice } from "../../components/field.js";

/**
 * @typedef {{lot_id: string, title: string, quantity: string, unit: string, ceiling: string,
 *   reserve: string}} LotForm
 */

/** @returns {LotForm} */
const newLot = (/** @type {number} */ n) => ({
  lot_id: `L${n}`, title: "", quantity: "1", unit: "lot", ceiling: "", reserve: "",
});

const CURRENCIES = ["EUR", "CNY", "USD", "GBP", "JPY", "CHF", "SEK", "PLN", "HKD", "SGD"];

export default function CreateAuction() {
  const [f, setF] = useState({
    title: "", buyer_name: "", currency: "EUR", duration_min: "10", start: "manual", start_at: "",
    decrement_kind: "percent", decrement: "0.5", bid_rule: "improve_own", tie_rule: "reject",
    visibility: "rank_only", lot_close: "parallel", stagger_min: "2", soft: true,
    soft_window_min: "2", soft_extension_min: "2", soft_trigger: "any_bid", soft_max: "",
    fat_finger: "", min_interval_s: "0", award_mode: "auto_lowest",
  });
  const [lots, setLots] = useState(/** @type {LotForm[]} */ ([newLot(1)]));
  const [errors, setErrors] = useState(/** @type {Record<string, string>} */ ({}));
  const [formError, setFormError] = useState(/** @type {string | null} */ (null));
  const [busy, setBusy] = useState(false);

  /** @param {string} key */
  const bind = (key) => ({
    value: /** @type {any} */ (f)[key],
    onInput: (/** @type {any} */ e) => setF({ ...f, [key]: e.currentTarget.value }),
  });
  /** @param {number} i @param {keyof LotForm} key */
  const bindLot = (i, key) => ({
    value: lots[i][key],
    onInput: (/** @type {any} */ e) => setLots(lots.map((lot, j) => (j === i ? { ...lot, [key]: e.currentTarget.value } : lot))),
  });
  const digits = currencyDigits(f.currency.toUpperCase());

  /** The configuration, or the fields that cannot be read (before anything is sent). */
  function build() {
    /** @type {Record<string, string>} */
    const bad = {};
    const currency = f.currency.trim().toUpperCase();
    if (digits === null) bad.currency = t("create.errors.currency");
    const minor = digits ?? 2;
    const minutes = (/** @type {string} */ text, /** @type {string} */ key, min = 0) => {
      const value = Number(text);
      if (!text.trim() || !Number.isFinite(value) || value < min) { bad[key] = t("create.errors.number"); return 0; }
      return Math.round(value * 60_000);
    };
    const amount = (/** @type {string} */ text, /** @type {string} */ key, optional = false) => {
      if (optional && !text.trim()) return null;
      const value = parseAmount(text, minor);
      if (value === null || value <= 0) { bad[key] = t("create.errors.amount", { digits: minor }); return 0; }
      return value;
    };
    const percentBp = (/** @type {string} */ text, /** @type {string} */ key) => {
      const value = Number(text);
      if (!text.trim() || !Number.isFinite(value) || value <= 0 || value > 100) { bad[key] = t("create.errors.percent"); return 0; }
      return Math.max(1, Math.round(value * 100));
    };
    /** @type {Record<string, unknown>} */
    const config = {
      format: "reverse_auction",
      title: f.title.trim(),
      currency,
      minor_units: minor,
      duration_ms: minutes(f.duration_min, "duration_ms", 0.1),
      decrement: {
        kind: f.decrement_kind,
        value: f.decrement_kind === "percent" ? percentBp(f.decrement, "decrement.value") : amount(f.decrement, "decrement.value"),
      },
      bid_rule: f.bid_rule,
      tie_rule: f.tie_rule,
      visibility: f.visibility,
      lot_close: f.lot_close,
      award_mode: f.award_mode,
      min_bid_interval_ms: Math.round(Number(f.min_interval_s || "0") * 1000),
      lots: lots.map((lot, i) => ({
        lot_id: lot.lot_id.trim(),
        title: lot.title.trim(),
        quantity: lot.quantity.trim(),
        unit: lot.unit.trim() || "lot",
        ceiling: amount(lot.ceiling, `lots.${i}.ceiling`),
        ...(lot.reserve.trim() ? { reserve: amount(lot.reserve, `lots.${i}.reserve`, true) } : {}),
      })),
    };
    if (f.buyer_name.trim()) config.buyer_name = f.buyer_name.trim();
    if (f.lot_close === "staggered") config.stagger_ms = minutes(f.stagger_min, "stagger_ms", 0);
    if (f.start === "scheduled") {
      const at = new Date(f.start_at).getTime();
      if (!f.start_at || !Number.isFinite(at)) bad.start_at = t("create.errors.date");
      else config.start_at = at;
    }
    if (f.soft) {
      config.soft_close = {
        window_ms: minutes(f.soft_window_min, "soft_close.window_ms", 0.01),
        extension_ms: minutes(f.soft_extension_min, "soft_close.extension_ms", 0.01),
        trigger: f.soft_trigger,
        ...(f.soft_max.trim() ? { max_extensions: Math.floor(Number(f.soft_max)) } : {}),
      };
    }
    if (f.fat_finger.trim()) config.fat_finger_bp = percentBp(f.fat_finger, "fat_finger_bp");
    return { config, bad };
  }

  /** @param {Event} event */
  async function submit(event) {
    event.preventDefault();
    setFormError(null);
    const { config, bad } = build();
    setErrors(bad);
    if (Object.keys(bad).length) {
      setFormError(t("create.errors.fix"));
      focusFirstError();
      return;
    }
    setBusy(true);
    try {
      const created = await api("POST", "/api/auctions", { config });
      go(`/auctions/${encodeURIComponent(created.view.auction_id)}`);
    } catch (e) {
      if (e instanceof ApiProblem && typeof e.extra.field === "string") {
        const field = e.extra.field.replace(/^config\./, "").replace(/\[(\d+)\]/g, ".$1");
        setErrors({ [field]: `${reasonText(e.reason)}: ${e.detail}` });
        // the banner says it too: a field the form does not show (a list as a whole) has no place
        setFormError(`${t("create.errors.refused")} ${reasonText(e.reason)}: ${e.detail}`);
        focusFirstError();
      } else if (e instanceof ApiProblem) {
        setFormError(`${reasonText(e.reason)}${e.detail ? `: ${e.detail}` : ""}`);
      } else {
        setFormError(reasonText("internal_error"));
      }
    } finally {
      setBusy(false);
    }
  }

  const err = (/** @type {string} */ key) => errors[key] ?? null;
  const minorHint = t("create.amount_hint", { digits: digits ?? 2 });
  /** @param {string} key @param {string} label @param {string} [hint] @param {Record<string, any>} [attrs] */
  const input = (key, label, hint, { errorKey = key, ...attrs } = {}) => html`<${Field} label=${label} hint=${hint} error=${err(errorKey)}>
    ${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy}
      aria-invalid=${c.invalid} ...${attrs} ...${bind(key)} />`}<//>`;

  return html`<section class="form-page">
    <h1 tabindex="-1">${t("create.title")}</h1>
    <p class="muted">${t("create.intro")}</p>
    <form onSubmit=${submit} novalidate>
      ${formError && html`<p class="error banner" role="alert" tabindex="-1">${formError}</p>`}
      <fieldset class="card"><legend>${t("create.about")}</legend>
        ${input("title", t("create.fields.title"), undefined, { required: true, maxlength: 200, errorKey: "title" })}
        ${input("buyer_name", t("create.fields.buyer_name"), t("create.hints.buyer_name"), { maxlength: 200 })}
        ${input("currency", t("create.fields.currency"), t("create.hints.currency"), { list: "currencies", maxlength: 3, required: true, autocomplete: "off" })}
        <datalist id="currencies">${CURRENCIES.map((c) => html`<option value=${c} />`)}</datalist>
      </fieldset>

      <fieldset class="card"><legend>${t("create.lots")}</legend>
        ${lots.map((lot, i) => html`<div class="lot-form" key=${i} role="group" aria-label=${t("create.lot_n", { n: i + 1 })}>
          <h3>${t("create.lot_n", { n: i + 1 })}</h3>
          <div class="grid">
            <${Field} label=${t("create.fields.lot_id")} error=${err(`lots.${i}.lot_id`)}>${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy} required maxlength="64" ...${bindLot(i, "lot_id")} />`}<//>
            <${Field} label=${t("create.fields.lot_title")} error=${err(`lots.${i}.title`)}>${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy} required maxlength="200" ...${bindLot(i, "title")} />`}<//>
            <${Field} label=${t("create.fields.quantity")} error=${err(`lots.${i}.quantity`)}>${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy} inputmode="decimal" ...${bindLot(i, "quantity")} />`}<//>
            <${Field} label=${t("create.fields.unit")} error=${err(`lots.${i}.unit`)}>${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy} maxlength="32" ...${bindLot(i, "unit")} />`}<//>
            <${Field} label=${t("create.fields.ceiling")} hint=${`${t("create.hints.ceiling")} ${minorHint}`} error=${err(`lots.${i}.ceiling`)}>${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy} aria-invalid=${c.invalid} inputmode="decimal" required ...${bindLot(i, "ceiling")} />`}<//>
            <${Field} label=${t("create.fields.reserve")} hint=${t("create.hints.reserve")} error=${err(`lots.${i}.reserve`)}>${(/** @type {any} */ c) => html`<input id=${c.id} aria-describedby=${c.describedBy} aria-invalid=${c.invalid} inputmode="decimal" ...${bindLot(i, "reserve")} />`}<//>
          </div>
          ${lots.length > 1 && html`<button type="button" class="link" onClick=${() => setLots(lots.filter((_, j) => j !== i))}>${t("create.remove_lot", { n: i + 1 })}</button>`}
        </div>`)}
        <button type="button" onClick=${() => setLots([...lots, newLot(lots.length + 1)])}>${t("create.add_lot")}</button>
      </fieldset>

      <fieldset class="card"><legend>${t("create.bidding")}</legend>
        <${Choice} legend=${t("create.fields.decrement_kind")} name="decrement_kind" value=${f.decrement_kind}
          onChange=${(/** @type {string} */ v) => setF({ ...f, decrement_kind: v })}
          options=${[{ value: "percent", label: t("create.decrement.percent"), hint: t("create.decrement.percent_hint") },
            { value: "amount", label: t("create.decrement.amount"), hint: t("create.decrement.amount_hint") }]} />
        ${input("decrement", t(f.decrement_kind === "percent" ? "create.fields.decrement_percent" : "create.fields.decrement_amount"),
          f.decrement_kind === "percent" ? t("create.hints.decrement_percent") : minorHint, { inputmode: "decimal", required: true, errorKey: "decrement.value" })}
        <${Choice} legend=${t("create.fields.bid_rule")} name="bid_rule" value=${f.bid_rule}
          onChange=${(/** @type {string} */ v) => setF({ ...f, bid_rule: v })} error=${err("bid_rule")}
          options=${["improve_own", "beat_leader"].map((v) => ({ value: v, label: t(`rules.bid_rule.${v}`), hint: t(`rules.bid_rule.${v}_hint`) }))} />
        <${Choice} legend=${t("create.fields.tie_rule")} name="tie_rule" value=${f.tie_rule}
          onChange=${(/** @type {string} */ v) => setF({ ...f, tie_rule: v })}
          options=${["reject", "rank_by_time"].map((v) => ({ value: v, label: t(`rules.tie_rule.${v}`), hint: t(`rules.tie_rule.${v}_hint`) }))} />
        <${Choice} legend=${t("create.fields.visibility")} name="visibility" value=${f.visibility}
          onChange=${(/** @type {string} */ v) => setF({ ...f, visibility: v })}
          options=${["rank_only", "rank_and_leading_price", "full_board"].map((v) => ({ value: v, label: t(`rules.visibility.${v}`), hint: t(`rules.visibility.${v}_hint`) }))} />
        ${input("fat_finger", t("create.fields.fat_finger"), t("create.hints.fat_finger"), { inputmode: "decimal", errorKey: "fat_finger_bp" })}
        ${input("min_interval_s", t("create.fields.min_interval"), t("create.hints.min_interval"), { type: "number", min: 0, step: "any", errorKey: "min_bid_interval_ms" })}
      </fieldset>

      <fieldset class="card"><legend>${t("create.schedule")}</legend>
        <${Choice} legend=${t("create.fields.start")} name="start" value=${f.start}
          onChange=${(/** @type {string} */ v) => setF({ ...f, start: v })}
          options=${[{ value: "manual", label: t("create.start.manual"), hint: t("create.start.manual_hint") },
            { value: "scheduled", label: t("create.start.scheduled"), hint: t("create.start.scheduled_hint") }]} />
        ${f.start === "scheduled" && input("start_at", t("create.fields.start_at"), t("create.hints.start_at"), { type: "datetime-local", required: true })}
        ${input("duration_min", t("create.fields.duration"), t("create.hints.duration"), { type: "number", min: 0.1, step: "any", required: true, errorKey: "duration_ms" })}
        <${Choice} legend=${t("create.fields.lot_close")} name="lot_close" value=${f.lot_close}
          onChange=${(/** @type {string} */ v) => setF({ ...f, lot_close: v })}
          options=${["parallel", "staggered"].map((v) => ({ value: v, label: t(`rules.lot_close.${v}`), hint: t(`rules.lot_close.${v}_hint`) }))} />
        ${f.lot_close === "staggered" && input("stagger_min", t("create.fields.stagger"), t("create.hints.stagger"), { type: "number", min: 0, step: "any", errorKey: "stagger_ms" })}
        <div class="field checkbox"><label><input type="checkbox" checked=${f.soft}
          onChange=${(/** @type {any} */ e) => setF({ ...f, soft: e.currentTarget.checked })} /> ${t("create.fields.soft")}</label>
          <p class="hint">${t("create.hints.soft")}</p></div>
        ${f.soft && html`<div class="grid">
          ${input("soft_window_min", t("create.fields.soft_window"), t("create.hints.soft_window"), { type: "number", min: 0, step: "any", errorKey: "soft_close.window_ms" })}
          ${input("soft_extension_min", t("create.fields.soft_extension"), t("create.hints.soft_extension"), { type: "number", min: 0, step: "any", errorKey: "soft_close.extension_ms" })}
          ${input("soft_max", t("create.fields.soft_max"), t("create.hints.soft_max"), { type: "number", min: 0, step: 1, errorKey: "soft_close.max_extensions" })}
        </div>
        <${Choice} legend=${t("create.fields.soft_trigger")} name="soft_trigger" value=${f.soft_trigger}
          onChange=${(/** @type {string} */ v) => setF({ ...f, soft_trigger: v })}
          options=${["any_bid", "new_leader"].map((v) => ({ value: v, label: t(`rules.soft_trigger.${v}`) }))} />`}
        <${Choice} legend=${t("create.fields.award_mode")} name="award_mode" value=${f.award_mode}
          onChange=${(/** @type {string} */ v) => setF({ ...f, award_mode: v })}
          options=${["auto_lowest", "buyer"].map((v) => ({ value: v, label: t(`rules.award_mode.${v}`), hint: t(`rules.award_mode.${v}_hint`) }))} />
      </fieldset>
      <button type="submit" class="primary" disabled=${busy}>${t("create.submit")}</button>
    </form>
  </section>`;
}

function focusFirstError() {
  requestAnimationFrame(() => {
    const first = document.querySelector(".has-error input, .has-error select, .has-error textarea")
      ?? document.querySelector(".banner");
    if (first instanceof HTMLElement) first.focus();
  });
}
