// @ts-check
/**
 * Why a supplier can no longer bid in an event it is invited to, on the event's own page (the
 * live room, a tender's page). The event says that the registry restricted it (the view's
 * `you.restricted`: the registry's reason code and words, pushed when its standing changed);
 * the supplier's own record (`GET /api/suppliers/{own id}`) adds the period: until when a
 * suspension or a blacklisting lasts. A supplier whose invitation was refused never gets this
 * far: the event tells it nothing, and its status page (`#/supplier`) is where it learns why.
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { t } from "../i18n.js";
import { api } from "../api.js";
import { claims } from "../session.js";
import { href } from "../router.js";
import { RestrictionNotice } from "./record.js";
import { restrictionInForce, standingText, reasonText, supplierPath } from "./words.js";

/** @param {{restricted: import("../wire").RestrictionView | null | undefined, category: string | null}} props */
export function OwnStandingNotice({ restricted, category }) {
  const id = claims()?.org ?? "";
  const [answer, setAnswer] = useState(/** @type {import("../wire").SupplierAnswer | null} */ (null));
  useEffect(() => {
    if (restricted) api("GET", supplierPath(id)).then(setAnswer, () => setAnswer(null));
  }, [id, restricted?.reason, restricted?.detail]);
  if (!restricted) return null;
  const standing = category ? answer?.standings.find((s) => s.category === category) : undefined;
  const inForce = answer && restrictionInForce(answer);
  return html`<section class="card" aria-labelledby="standing-title" data-testid="standing-notice">
    <h2 id="standing-title">${t("registry.cannot_bid")}</h2>
    ${answer && inForce ? html`<${RestrictionNotice} answer=${answer} own=${true} />`
      : html`<p class="notice bad">${standing && !standing.eligible ? standingText(standing)
        : `${reasonText(restricted.reason)}${restricted.detail ? `: ${restricted.detail}` : ""}`}</p>`}
    <p><a href=${href("/supplier")}>${t("registry.see_your_status")}</a></p>
  </section>`;
}
