// @ts-check
/**
 * A countdown to a time on the server's clock (`serverNow` from the live room), redrawn by
 * itself each second, so the page around it does not re-render on every tick. `role="timer"`
 * keeps screen readers quiet about the ticking; the page announces extensions and closes once.
 */
import { html, useEffect, useState } from "../../vendor/ui.js";
import { duration } from "../i18n.js";

/** @param {{endAt: number | null | undefined, serverNow: () => number, label: string, running?: boolean}} props */
export function Countdown({ endAt, serverNow, label, running = true }) {
  const [now, setNow] = useState(serverNow());
  useEffect(() => {
    if (!running || !endAt) return undefined;
    /** @type {ReturnType<typeof setTimeout>} */
    let timer;
    const tick = () => {
      const at = serverNow();
      setNow(at);
      timer = setTimeout(tick, 1000 - (Math.max(0, endAt - at) % 1000) + 5); // on the second
    };
    tick();
    return () => clearTimeout(timer);
  }, [endAt, running]);
  if (!endAt) return html`<span class="countdown muted">—</span>`;
  const left = endAt - now;
  return html`<span class=${`countdown ${left < 60_000 ? "soon" : ""}`} role="timer"
    aria-label=${label}>${duration(left)}</span>`;
}
