// @ts-check
/**
 * A page's live room: connects on mount, stops on unmount, re-renders on every new snapshot.
 *
 * It also times each update, from its WebSocket frame's arrival until the animation frame that
 * shows it has been painted, as a `performance.measure("bidserver:update")` entry whose `detail`
 * holds when the render was committed to the DOM, when that frame began (its `requestAnimationFrame`
 * time: the display's beat) and when its callbacks ran. The browser benchmark reads those
 * (loadtests/browser_bench.py); they cost one small task per update when nobody reads them.
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
    const committed = performance.now();
    requestAnimationFrame((frame) => {
      const callbacks = performance.now();
      // A task queued from the frame's callbacks runs once the frame's style, layout and paint
      // are done on the main thread: the update is then on its way to the screen.
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        performance.measure("bidserver:update", {
          start: arrived,
          end: performance.now(),
          detail: { committed, frame, callbacks },
        });
      };
      channel.port2.postMessage(null);
    });
  }, [snapshot.view, snapshot.you]);
  return [snapshot, room];
}
