// @ts-check
/**
 * A page's live room: connects on mount, stops on unmount, re-renders on every new snapshot.
 *
 * It also times each update from its frame's arrival to the animation frame that paints it, as a
 * `performance.measure("bidserver:update")` entry: the browser benchmark reads those
 * (loadtests/browser_bench.py), and they cost nothing when nobody reads them.
 */
import { useEffect, useLayoutEffect, useState } from "../../vendor/ui.js";
import { LiveRoom } from "../live.js";
import { token } from "../session.js";

/**
 * @param {string} auctionId
 * @param {(events: import("../live.js").ListedEvent[], snapshot: import("../live.js").LiveSnapshot) => void} [onEvents]
 * @returns {[import("../live.js").LiveSnapshot, LiveRoom]}
 */
export function useLiveRoom(auctionId, onEvents) {
  const [room] = useState(() => new LiveRoom(auctionId, token, { onEvents: (e, s) => onEvents?.(e, s) }));
  const [snapshot, setSnapshot] = useState(room.snapshot);
  useEffect(() => {
    const off = room.subscribe(setSnapshot);
    room.start();
    return () => {
      off();
      room.stop();
    };
  }, [room]);
  useLayoutEffect(() => {
    const arrived = room.arrivedAt;
    if (!arrived) return;
    requestAnimationFrame(() => {
      performance.measure("bidserver:update", { start: arrived, end: performance.now() });
    });
  }, [snapshot.view, snapshot.you]);
  return [snapshot, room];
}
