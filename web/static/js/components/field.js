// @ts-check
/**
 * A labelled form control with its explanation and its error, wired for assistive technology:
 * the hint and the error are the control's description, and an error marks it invalid.
 */
import { html, useId } from "../../vendor/ui.js";

/**
 * @param {{label: string, hint?: string, error?: string | null, children: (ids: {id: string,
 *   describedBy: string | undefined, invalid: boolean}) => any, className?: string}} props
 */
export function Field({ label, hint, error, children, className }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : "";
  const errorId = error ? `${id}-error` : "";
  const describedBy = [hintId, errorId].filter(Boolean).join(" ") || undefined;
  return html`<div class=${`field ${className ?? ""} ${error ? "has-error" : ""}`}>
    <label for=${id}>${label}</label>
    ${children({ id, describedBy, invalid: Boolean(error) })}
    ${hint && html`<p class="hint" id=${hintId}>${hint}</p>`}
    ${error && html`<p class="error" id=${errorId}>${error}</p>`}
  </div>`;
}

/**
 * A group of radio buttons as a fieldset, each option with its explanation.
 * @param {{legend: string, name: string, value: string, onChange: (v: string) => void,
 *   options: Array<{value: string, label: string, hint?: string}>, error?: string | null}} props
 */
export function Choice({ legend, name, value, onChange, options, error }) {
  const id = useId();
  return html`<fieldset class=${`choice ${error ? "has-error" : ""}`}
      aria-describedby=${error ? `${id}-error` : undefined}>
    <legend>${legend}</legend>
    ${options.map((option) => html`<label class="option">
      <input type="radio" name=${name} value=${option.value} checked=${value === option.value}
        onChange=${() => onChange(option.value)} />
      <span><span class="option-label">${option.label}</span>
        ${option.hint && html`<span class="hint">${option.hint}</span>`}</span>
    </label>`)}
    ${error && html`<p class="error" id=${`${id}-error`}>${error}</p>`}
  </fieldset>`;
}
