// @ts-check
/**
 * Confirmation for what cannot be undone (cancel, void, award, a large drop): a modal `<dialog>`
 * that takes the focus, returns it where it was, closes on Escape, and may ask for a reason.
 * `useConfirm()` gives the dialog to render and `ask(options)`, a promise of the answer.
 */
import { html, useEffect, useRef, useState } from "../../vendor/ui.js";
import { t } from "../i18n.js";

/**
 * @typedef {object} AskOptions
 * @property {string} title
 * @property {string} [body]
 * @property {string} confirm label of the confirming button
 * @property {"reason" | "reason_required" | null} [reason] ask for a reason (required or not)
 * @property {boolean} [danger]
 * @property {Array<{name: string, label: string, type?: string, value?: string, required?: boolean,
 *   options?: Array<{value: string, label: string}>}>} [fields] more inputs (values returned)
 */

/** @returns {[any, (options: AskOptions) => Promise<{reason: string, values: Record<string, string>} | null>]} */
export function useConfirm() {
  const [open, setOpen] = useState(/** @type {AskOptions | null} */ (null));
  const resolver = useRef(/** @type {((v: any) => void) | null} */ (null));
  const dialog = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const opener = useRef(/** @type {Element | null} */ (null));

  useEffect(() => {
    const element = dialog.current;
    if (open && element && !element.open) {
      opener.current = document.activeElement;
      element.showModal();
    }
  }, [open]);

  /** @param {any} answer */
  function finish(answer) {
    dialog.current?.close();
    setOpen(null);
    resolver.current?.(answer);
    resolver.current = null;
    if (opener.current instanceof HTMLElement) opener.current.focus();
  }

  /** @param {Event} event */
  function submit(event) {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const data = new FormData(form);
    /** @type {Record<string, string>} */
    const values = {};
    for (const [key, value] of data.entries()) values[key] = String(value);
    finish({ reason: values.reason ?? "", values });
  }

  const element = open && html`<dialog ref=${dialog} class="dialog" aria-labelledby="dialog-title"
      onCancel=${(/** @type {Event} */ e) => { e.preventDefault(); finish(null); }}>
    <form method="dialog" onSubmit=${submit}>
      <h2 id="dialog-title">${open.title}</h2>
      ${open.body && html`<p>${open.body}</p>`}
      ${(open.fields ?? []).map((field) => html`<div class="field">
        <label for=${`dialog-${field.name}`}>${field.label}</label>
        ${field.options
          ? html`<select id=${`dialog-${field.name}`} name=${field.name}>${field.options.map((o) => html`<option value=${o.value} selected=${o.value === field.value}>${o.label}</option>`)}</select>`
          : html`<input id=${`dialog-${field.name}`} name=${field.name} type=${field.type ?? "text"}
              value=${field.value ?? ""} required=${field.required} step="any" />`}
      </div>`)}
      ${open.reason && html`<div class="field">
        <label for="dialog-reason">${t(open.reason === "reason_required" ? "dialog.reason_required" : "dialog.reason")}</label>
        <textarea id="dialog-reason" name="reason" rows="2" maxlength="2000"
          required=${open.reason === "reason_required"}></textarea>
      </div>`}
      <div class="actions">
        <button type="button" onClick=${() => finish(null)}>${t("dialog.back")}</button>
        <button type="submit" class=${open.danger ? "danger" : "primary"}>${open.confirm}</button>
      </div>
    </form>
  </dialog>`;

  /** @param {AskOptions} options */
  const ask = (options) => new Promise((resolve) => {
    resolver.current = resolve;
    setOpen(options);
  });
  return [element, ask];
}
