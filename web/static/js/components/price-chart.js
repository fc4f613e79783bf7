// @ts-check
/**
 * A lot's prices over time (uPlot, canvas): every accepted bid as a point and the leading price
 * as a step line. Bids are appended to the chart's arrays and the chart redrawn at most once per
 * animation frame, so 20 updates a second never rebuild it, and a burst costs one draw.
 */
import { html, useEffect, useRef } from "../../vendor/ui.js";
import uPlot from "../../vendor/uplot.js";
import { t, money, clockTime } from "../i18n.js";

/**
 * A lot's series, kept outside the component so a re-render never copies it.
 * x: seconds since the epoch (uPlot's time axis), bid: each bid's amount, lead: the lowest so far.
 */
export class PriceSeries {
  constructor() {
    /** @type {number[]} */ this.x = [];
    /** @type {(number | null)[]} */ this.bid = [];
    /** @type {(number | null)[]} */ this.lead = [];
    this.version = 0;
  }

  /** @param {number} at ms epoch @param {number} amount minor units */
  add(at, amount) {
    const previous = this.lead.length ? this.lead[this.lead.length - 1] : null;
    this.x.push(at / 1000);
    this.bid.push(amount);
    this.lead.push(previous === null ? amount : Math.min(previous, amount));
    this.version += 1;
  }
}

/** @param {{series: PriceSeries, version: number, currency: string, digits: number, title: string}} props */
export function PriceChart({ series, version, currency, digits, title }) {
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const chart = useRef(/** @type {uPlot | null} */ (null));
  const frame = useRef(0);

  useEffect(() => {
    const element = box.current;
    if (!element) return undefined;
    const format = (/** @type {number} */ v) => money(v, currency, digits);
    chart.current = new uPlot({
      width: Math.max(240, element.clientWidth),
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { values: (_u, ticks) => ticks.map((s) => clockTime(s * 1000)), stroke: "#3d4451", space: 90 },
        { values: (_u, ticks) => ticks.map(format), size: 90, stroke: "#3d4451" },
      ],
      series: [
        {},
        { label: t("chart.bids"), stroke: "#1d5fbf", paths: () => null, points: { show: true, size: 5, fill: "#1d5fbf" } },
        { label: t("chart.leading"), stroke: "#0b7a4b", width: 2, paths: uPlot.paths.stepped?.({ align: 1 }) },
      ],
    }, [series.x, series.bid, series.lead], element);
    const resize = new ResizeObserver(() => chart.current?.setSize({ width: Math.max(240, element.clientWidth), height: 180 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      cancelAnimationFrame(frame.current);
      chart.current?.destroy();
      chart.current = null;
    };
  }, [series, currency, digits]);

  useEffect(() => {
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => {
      const u = chart.current;
      if (!u || !series.x.length) return;
      u.setData([series.x, series.bid, series.lead]);
      // a minute either side of the bids: one bid alone still gets a readable time axis
      u.setScale("x", { min: series.x[0] - 60, max: series.x[series.x.length - 1] + 60 });
    });
  }, [version]);

  return html`<figure class="chart">
    <div ref=${box} role="img" aria-label=${t("chart.label", { lot: title, count: series.x.length })}></div>
    <figcaption class="hint">${t("chart.caption")}</figcaption>
  </figure>`;
}
