// @ts-check
/**
 * Languages, words and the one home of money, number and time formatting in the browser.
 *
 * Every string a person reads goes through `t` (i18next, catalogues in /static/locales); every
 * amount through `money` and every time through `dateTime`/`clockTime`/`duration`, which use the
 * browser's `Intl` in the chosen language and the auction's currency. Amounts travel as integers
 * of minor units (cents); they are turned into decimal strings exactly (never through a float),
 * so a large tender prices as it was bid.
 */
import i18next from "../vendor/i18next.js";

/** @typedef {"en" | "zh"} Lang */

/** The languages the UI speaks, with the BCP 47 tag `Intl` formats in. */
export const LANGUAGES = /** @type {const} */ ({ en: "en-GB", zh: "zh-CN" });
const STORE_KEY = "bidserver.lang";

/** @type {Set<() => void>} */
const listeners = new Set();

/** @returns {Lang} */
function preferredLanguage() {
  const stored = localStorage.getItem(STORE_KEY);
  if (stored === "en" || stored === "zh") return stored;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

/** @param {Lang} lang */
async function catalogue(lang) {
  const response = await fetch(`/static/locales/${lang}.json`, { cache: "no-cache" });
  if (!response.ok) throw new Error(`locale ${lang}: HTTP ${response.status}`);
  return response.json();
}

/** Loads the preferred language; call once before the first render. */
export async function startI18n() {
  const lang = preferredLanguage();
  await i18next.init({
    lng: lang,
    fallbackLng: false, // a missing key shows as the key, and the tests look for that
    resources: { [lang]: { translation: await catalogue(lang) } },
    interpolation: { escapeValue: false }, // preact escapes what it renders
    returnNull: false,
  });
  document.documentElement.lang = LANGUAGES[lang];
}

/** @returns {Lang} */
export function language() {
  return /** @type {Lang} */ (i18next.language);
}

/** @returns {string} the BCP 47 tag for Intl */
export function locale() {
  return LANGUAGES[language()];
}

/** @param {Lang} lang */
export async function setLanguage(lang) {
  if (!i18next.hasResourceBundle(lang, "translation")) {
    i18next.addResourceBundle(lang, "translation", await catalogue(lang));
  }
  await i18next.changeLanguage(lang);
  localStorage.setItem(STORE_KEY, lang);
  document.documentElement.lang = LANGUAGES[lang];
  formatters.clear();
  for (const listener of listeners) listener();
}

/** @param {() => void} listener @returns {() => void} unsubscribe */
export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/**
 * @param {string} key
 * @param {Record<string, unknown>} [values]
 * @returns {string}
 */
export function t(key, values = {}) {
  return /** @type {string} */ (i18next.t(key, /** @type {any} */ (values)));
}

/**
 * Whether the catalogue has `key` (reasons the server may add later fall back to their code).
 * @param {string} key
 */
export function has(key) {
  return i18next.exists(key);
}

/**
 * An anonymised supplier's alias in the chosen language: the engine names them "Supplier N"
 * (the same in every journal and release); the page says "供应商 N" in Chinese.
 * @param {string | null | undefined} alias
 * @returns {string}
 */
export function aliasText(alias) {
  const match = /^Supplier (\d+)$/.exec(alias ?? "");
  return match ? t("lot.alias_n", { n: Number(match[1]) }) : alias ?? "—";
}

/** @typedef {Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat | Intl.DisplayNames} Formatter */
/** @type {Map<string, Formatter>} */
const formatters = new Map();

/**
 * @template {Formatter} F
 * @param {string} key @param {() => F} make @returns {F}
 */
function cached(key, make) {
  let formatter = formatters.get(key);
  if (formatter === undefined) {
    formatter = make();
    formatters.set(key, formatter);
  }
  return /** @type {F} */ (formatter);
}

/**
 * Minor units as an exact decimal string: 123456, 2 -> "1234.56"; -5, 2 -> "-0.05".
 * @param {number} minor @param {number} digits @returns {string}
 */
export function decimalString(minor, digits) {
  const negative = minor < 0;
  const text = String(Math.abs(Math.trunc(minor))).padStart(digits + 1, "0");
  const whole = digits ? text.slice(0, -digits) : text;
  const fraction = digits ? "." + text.slice(-digits) : "";
  return (negative ? "-" : "") + whole + fraction;
}

/**
 * An amount in minor units of `currency`, shown in the chosen language.
 * @param {number | null | undefined} minor @param {string} currency @param {number} digits
 * @returns {string}
 */
export function money(minor, currency, digits) {
  if (minor === null || minor === undefined) return "—";
  const format = cached(`money:${currency}:${digits}`, () => new Intl.NumberFormat(locale(), {
    style: "currency", currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
  }));
  // Intl formats a decimal string exactly (no float rounding of large amounts).
  return format.format(/** @type {any} */ (decimalString(minor, digits)));
}

/** @param {number} value @param {Intl.NumberFormatOptions} [options] */
export function number(value, options = {}) {
  return cached(`number:${JSON.stringify(options)}`,
    () => new Intl.NumberFormat(locale(), options)).format(value);
}

/** A percentage from basis points (50 -> "0.5%"). @param {number} bp */
export function percent(bp) {
  return number(bp / 10000, { style: "percent", maximumFractionDigits: 2 });
}

/** @param {number | null | undefined} ms epoch */
export function dateTime(ms) {
  if (ms === null || ms === undefined) return "—";
  return cached("datetime", () => new Intl.DateTimeFormat(locale(), {
    dateStyle: "medium", timeStyle: "medium",
  })).format(ms);
}

/** A day without its time (a certificate's expiry). @param {number | null | undefined} ms epoch */
export function date(ms) {
  if (ms === null || ms === undefined) return "—";
  return cached("date", () => new Intl.DateTimeFormat(locale(), { dateStyle: "medium" })).format(ms);
}

/** A country's name in the chosen language, from its ISO 3166-1 code ("CN" -> "China", "中国").
 * @param {string} code */
export function countryName(code) {
  try {
    return cached("regions", () => new Intl.DisplayNames([locale()], { type: "region" })).of(code) ?? code;
  } catch {
    return code;
  }
}

/** @param {number} ms epoch */
export function clockTime(ms) {
  return cached("clock", () => new Intl.DateTimeFormat(locale(), { timeStyle: "medium" })).format(ms);
}

/** A countdown: "02:03", "1:02:03", or from two days on "3 d 01:02:03" (a tender's weeks); never
 * negative. @param {number} ms */
export function duration(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const days = total >= 2 * 86400 ? Math.floor(total / 86400) : 0;
  const h = Math.floor((total - days * 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (/** @type {number} */ n) => String(n).padStart(2, "0");
  if (days) return `${t("shell.days", { n: days })} ${two(h)}:${two(m)}:${two(s)}`;
  return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** How long ago, in words ("3 minutes ago"). @param {number} ms difference, >= 0 */
export function ago(ms) {
  const rtf = cached("ago", () => new Intl.RelativeTimeFormat(locale(), { numeric: "auto" }));
  const s = Math.round(ms / 1000);
  if (s < 60) return rtf.format(-s, "second");
  if (s < 3600) return rtf.format(-Math.round(s / 60), "minute");
  if (s < 86400) return rtf.format(-Math.round(s / 3600), "hour");
  return rtf.format(-Math.round(s / 86400), "day");
}

/**
 * The digits after the decimal point of a currency (EUR 2, JPY 0), by Intl.
 * @param {string} currency @returns {number | null} null for a code Intl does not know
 */
export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency })
      .resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return null;
  }
}

/**
 * What a person typed as an amount, in minor units; null if it is not one. Accepts the
 * language's grouping (spaces, commas, the locale's own) and decimal mark, at most `digits`
 * decimals; never goes through a float.
 * @param {string} text @param {number} digits @returns {number | null}
 */
export function parseAmount(text, digits) {
  const parts = cached("plain", () => new Intl.NumberFormat(locale())).formatToParts(12345.6);
  const group = parts.find((p) => p.type === "group")?.value ?? ",";
  const decimal = parts.find((p) => p.type === "decimal")?.value ?? ".";
  const cleaned = text.trim().replaceAll(group, "").replace(/[\s\u00a0\u202f,]/g, "").replace(decimal, ".");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(cleaned);
  if (!match) return null;
  const fraction = match[2] ?? "";
  if (fraction.length > digits) return null;
  const minor = Number(match[1] + fraction.padEnd(digits, "0"));
  return Number.isSafeInteger(minor) ? minor : null;
}

/** An amount in minor units as the text an input shows (no grouping, the decimal mark "."). */
export function amountInput(/** @type {number} */ minor, /** @type {number} */ digits) {
  return decimalString(minor, digits);
}
