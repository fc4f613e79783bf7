// @ts-check
/**
 * A wide table's box that scrolls sideways on a phone: focusable and named, so a keyboard user
 * can scroll it too (WCAG 2.1.1; axe's scrollable-region-focusable).
 */
import { html } from "../../vendor/ui.js";

/** @param {{label: string, children: any}} props */
export function ScrollBox({ label, children }) {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label=${label}>${children}</div>`;
}
