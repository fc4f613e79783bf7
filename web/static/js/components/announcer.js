// @ts-check
/**
 * The one polite ARIA live region: rank changes, extensions and the close are said once each,
 * never the ticking countdown. Pages call `announce(text)`; the same text twice in a row is
 * said again (the region is cleared first).
 */
import { html, useEffect, useState } from "../../vendor/ui.js";

/** @type {(text: string) => void} */
let speak = () => {};

/** @param {string} text */
export function announce(text) {
  speak(text);
}

export function Announcer() {
  const [text, setText] = useState("");
  useEffect(() => {
    speak = (next) => {
      setText("");
      requestAnimationFrame(() => setText(next));
    };
    return () => { speak = () => {}; };
  }, []);
  return html`<div class="sr-only" role="status" aria-live="polite" aria-atomic="true"
    data-testid="announcer">${text}</div>`;
}
