// @ts-check
/**
 * The live connection to an auction's room: one WebSocket, resumed without missing anything.
 *
 * - **Resume.** It keeps the last `seq` (its cursor) and reconnects with `?since=<seq>`, so the
 *   server sends what happened while it was away (docs/protocol.md, "Your cursor").
 * - **Back-off.** A lost connection is retried after 0.5 s, doubling to 10 s, with jitter, and
 *   the state says so plainly (`connecting`, `open`, `reconnecting`, `closed` with a reason).
 *   Refusals that a retry cannot fix (unknown auction, expired token, forbidden) stop retrying.
 * - **The server's clock.** Pings measure the offset of the server's clock; `serverNow()` is the
 *   server's time read off the browser's monotonic clock, so a countdown never follows the
 *   browser's wall clock (which may be wrong, or change).
 * - **Bids are resent with the same id.** A bid waits for its `bid_result`; after a reconnect
 *   every unanswered bid is sent again with its id, which the server decides at most once.
 */

/** @typedef {"connecting" | "open" | "reconnecting" | "closed"} LinkState */

// The messages as the server types them (wire.d.ts, generated from its schema).
/** @typedef {import("./wire").ServerMessage} ServerMessage */
/** @typedef {import("./wire").ClientMessage} ClientMessage */
/** @typedef {import("./wire").BidMessage} BidMessage */
/** @typedef {import("./wire").ListedEvent} ListedEvent */
/** @typedef {import("./wire").AuctionView} AuctionView */
/** @typedef {import("./wire").YouView} YouView */
/** @typedef {import("./wire").Presence} Presence */
/** @typedef {import("./wire").BidResult} BidOutcome a bid's answer: its `bid_result` */

/**
 * @typedef {object} LiveSnapshot
 * @property {LinkState} link
 * @property {string | null} closedReason why the room stopped trying (a close reason code)
 * @property {AuctionView | null} view the auction as this role sees it (null until welcomed)
 * @property {YouView | null} you a supplier's own figures (null for the other roles)
 * @property {number} seq
 * @property {string} role
 * @property {string} party
 * @property {Presence | null} presence the buyer's view of who is online
 * @property {number} attempt reconnect attempts since the last open
 */

/** Close codes after which reconnecting cannot help, with the reason the page shows. */
const FINAL_CLOSES = new Map([
  [4401, "expired_token"], [4403, "forbidden"], [4404, "unknown_auction"], [1003, "bad_request"],
]);
/** Handshake refusals (HTTP status -> reason) seen only as a failed open: see `failedOpens`. */
const MAX_BACKOFF_MS = 10_000;

export class LiveRoom {
  /**
   * @param {string} auctionId
   * @param {() => string | null} token the current token (read at every connect)
   * @param {{ onEvents?: (events: ListedEvent[], snapshot: LiveSnapshot) => void, url?: string }} [options]
   */
  constructor(auctionId, token, options = {}) {
    this.auctionId = auctionId;
    this.token = token;
    this.onEvents = options.onEvents;
    this.base = options.url ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
    /** @type {LiveSnapshot} */
    this.snapshot = {
      link: "connecting", closedReason: null, view: null, you: null, seq: 0, role: "",
      party: "", presence: null, attempt: 0,
    };
    /** @type {WebSocket | null} */
    this.socket = null;
    this.welcomed = false;
    this.stopped = false;
    /** @type {Map<string, {message: BidMessage, resolve: (r: BidOutcome) => void, resends?: number}>} */
    this.pending = new Map();
    /** @type {Set<(s: LiveSnapshot) => void>} */
    this.listeners = new Set();
    // Server clock: server_time = offset + performance.now(), from the ping with the least RTT.
    this.offset = Date.now() - performance.now();
    this.bestRtt = Infinity;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    this.failedOpens = 0;
    /** Arrival time (performance.now()) of the frame behind the latest snapshot. */
    this.arrivedAt = 0;
  }

  /** The server's clock now, in ms since the epoch. */
  serverNow() {
    return this.offset + performance.now();
  }

  /** @param {(s: LiveSnapshot) => void} listener @returns {() => void} */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    this.socket?.close(1000);
    this.socket = null;
  }

  /**
   * Sends a bid; resolves with its answer (after reconnects if need be: it is resent with the
   * same id until answered).
   * @param {string} lotId @param {number} amount
   * @param {{confirm?: boolean, onBehalfOf?: string, bidId?: string}} [options] `bidId`: the id
   *   of a bid refused with `confirmation_required`, sent again confirmed (the same bid)
   * @returns {Promise<BidOutcome>}
   */
  bid(lotId, amount, options = {}) {
    const bidId = options.bidId ?? crypto.randomUUID();
    /** @type {BidMessage} */
    const message = { type: "bid", bid_id: bidId, lot_id: lotId, amount };
    if (options.confirm) message.confirm = true;
    if (options.onBehalfOf) message.on_behalf_of = options.onBehalfOf;
    return new Promise((resolve) => {
      this.pending.set(bidId, { message, resolve });
      this.send(message);
    });
  }

  /** Bids sent and not yet answered (shown as "sending…"). */
  unanswered() {
    return this.pending.size;
  }

  /** @param {ClientMessage} message */
  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.welcomed) {
      this.socket.send(JSON.stringify(message));
    }
  }

  /** @param {Partial<LiveSnapshot>} change */
  set(change) {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener(this.snapshot);
  }

  connect() {
    const token = this.token();
    if (!token) {
      this.set({ link: "closed", closedReason: "missing_token" });
      return;
    }
    const params = new URLSearchParams({ access_token: token });
    if (this.welcomed || this.snapshot.seq) params.set("since", String(this.snapshot.seq));
    this.welcomed = false;
    const socket = new WebSocket(`${this.base}/ws/auctions/${encodeURIComponent(this.auctionId)}?${params}`);
    this.socket = socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
  }

  /** @param {WebSocket} socket @param {number} code */
  closed(socket, code) {
    if (socket !== this.socket) return;
    clearInterval(this.pingTimer);
    this.socket = null;
    if (this.stopped) return;
    const final = FINAL_CLOSES.get(code);
    if (final) {
      this.set({ link: "closed", closedReason: final });
      return;
    }
    // A handshake refused (404 unknown auction, 401, 403) closes with 1006 before any welcome:
    // after a few of those in a row, ask the API why, and stop if retrying cannot help.
    if (!this.welcomed) this.failedOpens += 1;
    const attempt = this.snapshot.attempt + 1;
    this.set({ link: "reconnecting", attempt });
    if (this.failedOpens >= 3 && this.failedOpens % 3 === 0) void this.diagnose();
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(attempt - 1, 5));
    this.retryTimer = setTimeout(() => this.connect(), delay * (0.75 + Math.random() * 0.5));
  }

  /** Why the room cannot be opened: the same check over HTTP, which answers with a reason. */
  async diagnose() {
    const token = this.token();
    try {
      const response = await fetch(`/api/auctions/${encodeURIComponent(this.auctionId)}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      if ([401, 403, 404].includes(response.status)) {
        const problem = await response.json().catch(() => ({}));
        this.stop();
        this.set({ link: "closed", closedReason: problem.reason || "unknown_auction" });
      }
    } catch {
      // the server is away: keep retrying
    }
  }

  /** @param {string} data */
  receive(data) {
    const arrived = performance.now();
    /** @type {ServerMessage} */
    const message = JSON.parse(data);
    switch (message.type) {
      case "welcome":
        this.welcomed = true;
        this.failedOpens = 0;
        if (this.bestRtt === Infinity) this.offset = message.server_time - arrived; // until a pong
        this.arrivedAt = arrived;
        this.set({
          link: "open", closedReason: null, view: message.view, you: message.you ?? null,
          seq: message.seq, role: message.role, party: message.party, attempt: 0,
        });
        for (const { message: bid } of this.pending.values()) this.send(bid);
        this.ping();
        clearInterval(this.pingTimer);
        this.pingTimer = setInterval(() => this.ping(), 15_000);
        break;
      case "update":
        this.arrivedAt = arrived;
        this.onEvents?.(message.events, this.snapshot);
        this.set({ view: message.view, you: message.you ?? this.snapshot.you, seq: message.seq });
        break;
      case "presence":
        this.set({ presence: message });
        break;
      case "bid_result": {
        const waiting = this.pending.get(message.bid_id);
        if (!waiting) break;
        if (message.status === "rejected" && RESEND.has(message.reason) && !message.duplicate
            && (waiting.resends = (waiting.resends ?? 0) + 1) <= 5) {
          // not decided: resend the same id (after the server's hint, else a short pause)
          setTimeout(() => this.send(waiting.message), message.retry_after_ms ?? 1000);
          break;
        }
        this.pending.delete(message.bid_id);
        waiting.resolve(message);
        break;
      }
      case "pong":
        this.clock(message.server_time, message.client_time, arrived);
        break;
      default:
        break;
    }
  }

  ping() {
    this.send({ type: "ping", client_time: performance.now() });
  }

  /**
   * @param {number} serverTime @param {number} sent performance.now() when asked
   * @param {number} received performance.now() when answered
   */
  clock(serverTime, sent, received) {
    const rtt = received - sent;
    if (rtt <= this.bestRtt || rtt < 50) {
      this.bestRtt = Math.min(this.bestRtt, rtt);
      this.offset = serverTime - (sent + received) / 2;
    }
  }
}

/**
 * Answers that mean "not decided, resend the same bid id" (docs/protocol.md, "Resending").
 * @type {Set<BidOutcome["reason"]>}
 */
const RESEND = new Set(["journal_unavailable", "writer_unavailable", "not_decided", "rate_limited"]);
