// @ts-check
/**
 * The supplier registry in words: statuses, standings, periods and ratings as every registry
 * page says them. The server decides a supplier's standing (`engine/admission/standing.py`, sent
 * as `standings` and a search item's `standing`); these only say what it sent.
 */
import { html } from "../../vendor/ui.js";
import { t, has, dateTime, number } from "../i18n.js";

/** @typedef {import("../wire").SupplierAnswer} SupplierAnswer */
/** @typedef {import("../wire").Restriction} Restriction */

/** The API path of a supplier's record. @param {string} id @param {string} [rest] */
export function supplierPath(id, rest = "") {
  return `/api/suppliers/${encodeURIComponent(id)}${rest}`;
}

/** A status as a badge. @param {{status: string}} props */
export function StatusBadge({ status }) {
  return html`<span class=${`phase status-${status}`}>${t(`registry.status.${status}`)}</span>`;
}

/**
 * A category's (or a search item's) standing in words: "Eligible", or why not with the
 * reviewer's words and until when time alone keeps it so.
 * @param {import("../wire").CategoryStanding | null | undefined} standing
 */
export function standingText(standing) {
  if (!standing) return "";
  if (standing.eligible) return t("registry.eligible");
  const why = standing.reason ? reasonText(standing.reason) : "";
  const detail = standing.detail ? `: ${standing.detail}` : "";
  const until = standing.until ? ` (${t("registry.until", { when: dateTime(standing.until) })})` : "";
  return `${why}${detail}${until}`;
}

/** A standing reason (`not_qualified`, `blacklisted`...) in words. @param {string} reason */
export function reasonText(reason) {
  const key = `registry.standing.${reason}`;
  return has(key) ? t(key) : reason;
}

/** "from 1 Mar 2027 until 30 May 2027", or "from ... , indefinitely".
 * @param {number} start @param {number | null | undefined} end */
export function period(start, end) {
  return end ? t("registry.period", { from: dateTime(start), to: dateTime(end) })
    : t("registry.period_indefinite", { from: dateTime(start) });
}

/**
 * Where a restriction stands at the server's time `now` (the answer's): lifted, ended, not
 * started yet, or in force. Said beside each restriction; whether it bars the supplier is the
 * server's standing.
 * @param {Restriction} r @param {number} now
 * @returns {"lifted" | "ended" | "scheduled" | "in_force"}
 */
export function restrictionState(r, now) {
  if (r.lifted_at !== null) return "lifted";
  if (r.end_at !== null && r.end_at <= now) return "ended";
  if (r.start_at > now) return "scheduled";
  return "in_force";
}

/** The restriction in force the record's overall status names (blacklisted or suspended), if
 * any. @param {SupplierAnswer} answer @returns {Restriction | null} */
export function restrictionInForce(answer) {
  if (answer.status !== "blacklisted" && answer.status !== "suspended") return null;
  return answer.supplier.restrictions.find((r) => r.kind === answer.status
    && restrictionState(r, answer.now) === "in_force") ?? null;
}

/** Average marks in hundredths (425) as "4.25". @param {number | null | undefined} hundredths */
function marks(hundredths) {
  return hundredths === null || hundredths === undefined ? "—"
    : number(hundredths / 100, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

/** Buyers' ratings summed up: "4.25 / 5 from 3 ratings (delivery 4.00 · quality ...)".
 * @param {{rating: import("../wire").RatingSummary, long?: boolean}} props */
export function Rating({ rating, long = false }) {
  if (!rating.count) return html`<span class="muted">${t("registry.no_rating")}</span>`;
  return html`<span>${t("registry.rating", { overall: marks(rating.overall), count: rating.count })}
    ${long && html`<span class="muted small"> (${t("registry.rating_parts", {
      delivery: marks(rating.delivery), quality: marks(rating.quality), service: marks(rating.service),
    })})</span>`}</span>`;
}

/** A date input's value ("2027-03-01") as ms since the epoch, at the start of that day where
 * the user is; null when empty. @param {string} value */
export function dayStart(value) {
  return value ? new Date(`${value}T00:00:00`).getTime() : null;
}
