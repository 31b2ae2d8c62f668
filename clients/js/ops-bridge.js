// Ops Bridge client: the stream of GET /api/ws, kept the way the contract asks every frontend to keep it.
//
// One dependency-free ES module (no build step), for browsers and any runtime with a WebSocket:
// - connects with a token offered as the subprotocol (`bearer, <token>`), or with the session cookie;
// - reconnects after a drop as the contract says (5 attempts, 3 s doubling: 3, 6, 12, 24, 48 s), then
//   waits to be told to try again; subscribes again with the same topics and filters;
// - resumes with `?last_event_id=` from the last event it handed over, and drops anything at or below it,
//   so each event arrives once, in order, across drops;
// - refreshes the token in-band (`{"action":"auth"}`) before it expires, when given a function for it;
// - turns RESUME_TOO_OLD (and a reset event log) into one "refetch" signal: re-fetch your data now;
// - keeps the last 50 notifications and an unread count (in a Storage, such as localStorage, if given);
// - exposes its connection state for a header badge.
// Types: ops-bridge.d.ts beside this file. Protocol: the service's docs/protocol.md and /asyncapi.json.

export const TOPICS = Object.freeze(["incident", "task", "asset", "alert", "notification", "metric"]);
export const BACKOFF_SECONDS = Object.freeze([3, 6, 12, 24, 48]);
export const NOTIFICATIONS_KEPT = 50;
// The server closes with this when the token expired and no fresh one came in time.
export const CLOSE_TOKEN_EXPIRED = 4001;

const NORMAL_CLOSURE = 1000;
const REFRESH_BEFORE_SECONDS = 60;
// A token refresh is never scheduled sooner than this, so a clock that is off cannot make it spin.
const MIN_REFRESH_DELAY_MS = 1000;
const SAVE_DELAY_MS = 1000;

/** A request the server answered with an error (`code` is the protocol's), or one the connection ended. */
export class OpsBridgeError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.name = "OpsBridgeError";
    this.code = code;
    this.detail = message;
  }
}

/** The socket's URL for a page at `location` (same origin, /api/ws), or `url` as given, with the resume point. */
export function streamUrl(url, lastEventId) {
  const target = new URL(url);
  if (target.protocol === "http:" || target.protocol === "https:") {
    target.protocol = target.protocol === "https:" ? "wss:" : "ws:";
    target.pathname = "/api/ws";
    target.search = "";
  }
  target.hash = "";
  if (lastEventId === null || lastEventId === undefined) target.searchParams.delete("last_event_id");
  else target.searchParams.set("last_event_id", String(lastEventId));
  return target.toString();
}

/** The seconds-since-epoch `exp` of a JWT, read without verifying it (only to schedule its refresh). */
export function tokenExpiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "="))).exp;
    return typeof exp === "number" ? exp : null;
  } catch {
    return null;
  }
}

/**
 * The TanStack Query keys a message makes stale, after the contract's "Frontend Behavior" for each type.
 * Alerts: the contract calls them ephemeral; this service stores them (GET /api/alerts), so a list of them is stale.
 */
export function invalidatedQueries(message) {
  const data = message.data ?? {};
  switch (message.type) {
    case "incident":
      return [["incidents"]];
    case "task":
      return [["tasks"]];
    case "asset":
      return [["assets", data.environment]];
    case "alert":
      return [["alerts"]];
    case "notification":
      return [["notifications"]];
    case "metric":
      return SLA_METRICS.includes(data.metric_name) ? [["metrics", "sla"]] : [["metrics", data.metric_name]];
    default:
      return [];
  }
}

const SLA_METRICS = ["sla_percentage", "mean_time_to_resolve"];

function listed(value) {
  return value === null || value === undefined ? null : [value].flat();
}

// The server's rule (docs/protocol.md): topics, then each filter on the events that carry its dimension.
function wanted(message, subscription) {
  if (subscription === null) return true;
  if (!subscription.topics.some((topic) => topic === message.type || topic === `${message.type}s`)) return false;
  const data = message.data ?? {};
  const squads = listed(subscription.filters.squad);
  const environments = listed(subscription.filters.environment);
  if (squads !== null && typeof data.squad === "string" && !squads.includes(data.squad)) return false;
  return environments === null || typeof data.environment !== "string" || environments.includes(data.environment);
}

function defaultUrl() {
  if (globalThis.location === undefined) throw new TypeError("OpsBridgeClient needs `url` outside a browser page");
  return globalThis.location.href;
}

function loadSaved(storage, key) {
  try {
    const saved = JSON.parse(storage?.getItem(key) ?? "null");
    return saved !== null && typeof saved === "object" ? saved : {};
  } catch {
    return {};
  }
}

export class OpsBridgeClient {
  #url;
  #token;
  #backoff;
  #refreshBefore;
  #storage;
  #storageKey;
  #WebSocket;
  #listeners = new Map();
  #ws = null;
  #open = false;
  #stopped = true;
  #timer = null;
  #refreshTimer = null;
  #saveTimer = null;
  #attempt = 0;
  #opening = 0;
  #lastEventId = null;
  #subscription = null;
  #subscribedTopics = null;
  #waiting = [];
  #sequence = 0;
  #pending = new Map();
  #notifications = [];
  #state;
  #connection = null;

  /** @param {import("./ops-bridge").ClientOptions} options */
  constructor(options = {}) {
    this.#url = options.url ?? defaultUrl();
    this.#token = options.token ?? null;
    this.#backoff = options.backoffSeconds ?? BACKOFF_SECONDS;
    this.#refreshBefore = options.refreshBeforeSeconds ?? REFRESH_BEFORE_SECONDS;
    this.#storage = options.storage ?? null;
    this.#storageKey = options.storageKey ?? "ops-bridge";
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    const saved = loadSaved(this.#storage, this.#storageKey);
    this.#lastEventId = options.lastEventId ?? (Number.isInteger(saved.lastEventId) ? saved.lastEventId : null);
    this.#notifications = Array.isArray(saved.notifications) ? saved.notifications.slice(0, NOTIFICATIONS_KEPT) : [];
    if (options.topics !== undefined || options.filters !== undefined) {
      this.#subscription = { topics: options.topics ?? [...TOPICS], filters: options.filters ?? {} };
    }
    this.#state = { status: "idle", attempt: 0, maxAttempts: this.#backoff.length, lastEventId: this.#lastEventId };
  }

  /** The connection state, for a badge: status, attempt, maxAttempts, and when reconnecting, delaySeconds and retryAt. */
  get state() {
    return { ...this.#state };
  }

  get lastEventId() {
    return this.#lastEventId;
  }

  /** What the server said about this connection: sub, roles, squads, environments, position, resume. */
  get connection() {
    return this.#connection;
  }

  /** The last 50 notifications, newest first, each with `read`. */
  get notifications() {
    return this.#notifications.map((entry) => ({ ...entry }));
  }

  get unread() {
    return this.#notifications.filter((entry) => !entry.read).length;
  }

  /** Listen: "state", "established", "event", "refetch", "notifications", "auth", "error". Returns the way to stop. */
  on(type, listener) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.#listeners.get(type).delete(listener);
  }

  /** Connect (again, after the client gave up or the token expired): the attempt count starts over. */
  connect() {
    if (!this.#stopped && (this.#ws !== null || this.#state.status === "connecting")) return;
    this.#stopped = false;
    this.#attempt = 0;
    this.#cancelTimer();
    this.#openSocket();
  }

  /** Close for good (normal closure); connect() opens again, resuming where this left off. */
  close() {
    this.#stopped = true;
    this.#cancelTimer();
    this.#cancelRefresh();
    this.#dropped(new OpsBridgeError("CLOSED", "the client was closed"));
    this.#closeSocket("closed by the client");
    this.#setState("closed");
    this.#save();
  }

  /** Receive only these topics, narrowed by filters; kept, and sent again on every reconnect. */
  subscribe(topics = [...TOPICS], filters = {}) {
    const previous = this.#open ? this.#subscribedTopics : null;
    this.#subscription = { topics: [...topics], filters: { ...filters } };
    if (!this.#open) return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
    const dropped = previous === null ? [] : previous.filter((topic) => !this.#subscription.topics.includes(topic));
    if (dropped.length > 0) this.#request({ action: "unsubscribe", topics: dropped }).catch(() => {});
    return this.#sendSubscription();
  }

  /** Stop receiving these topics (kept for reconnects too). */
  unsubscribe(topics) {
    const kept = (this.#subscription?.topics ?? TOPICS).filter((topic) => !topics.includes(topic));
    this.#subscription = { topics: kept, filters: this.#subscription?.filters ?? {} };
    this.#subscribedTopics = kept;
    return this.#request({ action: "unsubscribe", topics: [...topics] });
  }

  ping() {
    return this.#request({ action: "ping" });
  }

  /** Hand the open connection a fresh token (same subject) before the current one expires. */
  refreshToken(token) {
    if (typeof this.#token === "string") this.#token = token;
    return this.#request({ action: "auth", token }).then((ack) => {
      this.#scheduleRefresh(Date.parse(ack.data.expires_at) / 1000);
      this.#emit("auth", ack.data);
      return ack;
    });
  }

  /** Publish a notification (publisher or admin role); `to`: subs or e-mail addresses, absent for everyone. */
  publish(data, to) {
    const message = { type: "notification", action: "created", data, timestamp: new Date().toISOString() };
    if (to !== undefined) message.to = to;
    return this.#request(message);
  }

  markRead(id) {
    this.#changeNotifications((entry) => (entry.id === id ? { ...entry, read: true } : entry));
  }

  markAllRead() {
    this.#changeNotifications((entry) => (entry.read ? entry : { ...entry, read: true }));
  }

  /** Forget the notifications and the resume point kept in storage (on sign-out). */
  forget() {
    this.#notifications = [];
    this.#lastEventId = null;
    this.#storage?.removeItem(this.#storageKey);
    this.#emit("notifications", { items: [], unread: 0 });
  }

  // The socket ---------------------------------------------------------------------------------------------------

  async #openSocket() {
    this.#closeSocket("reconnecting");
    this.#setState("connecting");
    // Only the newest call opens a socket: connect() may come again while a token is being fetched.
    const opening = ++this.#opening;
    let protocols;
    try {
      protocols = await this.#protocols();
    } catch (error) {
      if (opening !== this.#opening || this.#stopped) return;
      this.#emit("error", new OpsBridgeError("TOKEN_UNAVAILABLE", String(error?.message ?? error)));
      this.#retryOrGiveUp(null);
      return;
    }
    if (opening !== this.#opening || this.#stopped) return;
    const ws = new this.#WebSocket(streamUrl(this.#url, this.#lastEventId), protocols);
    this.#ws = ws;
    ws.addEventListener("message", (message) => this.#receive(ws, message.data));
    ws.addEventListener("close", (event) => this.#closed(ws, event));
  }

  async #protocols() {
    if (this.#token === null) return undefined; // the session cookie, if any, does it
    const token = typeof this.#token === "function" ? await this.#token() : this.#token;
    this.#scheduleRefresh(tokenExpiry(token));
    return ["bearer", token];
  }

  #closeSocket(reason) {
    const previous = this.#ws;
    this.#ws = null;
    this.#open = false;
    if (previous !== null) previous.close(NORMAL_CLOSURE, reason);
  }

  #receive(ws, text) {
    if (ws !== this.#ws) return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.id === "number") this.#event(message);
    else if (message.type === "connection" && message.action === "established") this.#established(message.data);
    else this.#reply(message);
  }

  #established(data) {
    this.#open = true;
    this.#attempt = 0;
    this.#connection = data;
    // Nothing seen yet: the stream starts after `position`, so a drop resumes from there.
    if (this.#lastEventId === null) this.#lastEventId = data.position;
    this.#subscribedTopics = null;
    const waiting = this.#waiting;
    this.#waiting = [];
    if (this.#subscription !== null) {
      const sent = this.#sendSubscription();
      for (const waiter of waiting) sent.then(waiter.resolve, waiter.reject);
    }
    this.#setState("open");
    this.#emit("established", data);
  }

  #event(message) {
    if (this.#lastEventId !== null && message.id <= this.#lastEventId) return;
    this.#lastEventId = message.id;
    this.#state.lastEventId = message.id;
    this.#saveSoon();
    // A resumed connection replays what it missed before the server has read the new `subscribe`.
    if (!wanted(message, this.#subscription)) return;
    if (message.type === "notification") this.#notified(message);
    this.#emit("event", message);
  }

  #reply(message) {
    const data = message.data ?? {};
    const pending = this.#pending.get(data.original_message_id);
    if (pending !== undefined) {
      this.#pending.delete(data.original_message_id);
      if (message.type === "error") pending.reject(new OpsBridgeError(data.code, data.message));
      else pending.resolve(message);
      return;
    }
    if (message.type !== "error") return;
    if (data.code === "RESUME_TOO_OLD" || data.code === "RESUME_POSITION_UNKNOWN") this.#refetch(data);
    this.#emit("error", new OpsBridgeError(data.code, data.message));
  }

  #refetch(data) {
    // Ahead of the log (it was reset): positions start over, so nothing at or below the old one is a duplicate.
    if (data.code === "RESUME_POSITION_UNKNOWN") this.#lastEventId = null;
    this.#emit("refetch", { reason: data.code, message: data.message });
  }

  #closed(ws, event) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#open = false;
    this.#dropped(new OpsBridgeError("DISCONNECTED", `the connection closed (${event.code})`));
    if (this.#stopped) return;
    if (event.code === CLOSE_TOKEN_EXPIRED && typeof this.#token !== "function") {
      this.#cancelRefresh();
      this.#setState("expired", { closeCode: event.code });
      return;
    }
    this.#retryOrGiveUp(event.code);
  }

  #retryOrGiveUp(closeCode) {
    if (this.#attempt >= this.#backoff.length) {
      this.#setState("offline", { closeCode });
      return;
    }
    this.#attempt += 1;
    const delaySeconds = this.#backoff[this.#attempt - 1];
    this.#setState("reconnecting", { closeCode, delaySeconds, retryAt: Date.now() + delaySeconds * 1000 });
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#openSocket();
    }, delaySeconds * 1000);
  }

  #dropped(error) {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
  }

  #cancelTimer() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  // Requests -----------------------------------------------------------------------------------------------------

  #sendSubscription() {
    const { topics, filters } = this.#subscription;
    const request = { action: "subscribe", topics: [...topics] };
    const narrowed = Object.fromEntries(
      Object.entries(filters).filter(([, values]) => values !== null && values !== undefined),
    );
    if (Object.keys(narrowed).length > 0) request.filters = narrowed;
    this.#subscribedTopics = [...topics];
    return this.#request(request);
  }

  #request(message) {
    if (!this.#open) return Promise.reject(new OpsBridgeError("DISCONNECTED", "not connected"));
    this.#sequence += 1;
    const id = `c-${this.#sequence}`;
    const answer = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#ws.send(JSON.stringify({ id, ...message }));
    return answer;
  }

  // Token refresh ------------------------------------------------------------------------------------------------

  #scheduleRefresh(expiresAt) {
    this.#cancelRefresh();
    if (typeof this.#token !== "function" || expiresAt === null || Number.isNaN(expiresAt)) return;
    const delay = Math.max(expiresAt * 1000 - Date.now() - this.#refreshBefore * 1000, MIN_REFRESH_DELAY_MS);
    this.#refreshTimer = setTimeout(() => this.#refreshNow(), delay);
  }

  async #refreshNow() {
    this.#refreshTimer = null;
    if (!this.#open) return; // the next connection asks for a fresh token anyway
    try {
      await this.refreshToken(await this.#token());
    } catch (error) {
      this.#emit("error", error instanceof OpsBridgeError ? error : new OpsBridgeError("TOKEN_UNAVAILABLE", String(error)));
    }
  }

  #cancelRefresh() {
    if (this.#refreshTimer !== null) clearTimeout(this.#refreshTimer);
    this.#refreshTimer = null;
  }

  // Notifications ------------------------------------------------------------------------------------------------

  #notified(message) {
    const data = message.data ?? {};
    if (this.#notifications.some((entry) => entry.id === data.id)) return;
    const entry = { ...data, eventId: message.id, timestamp: message.timestamp, read: false };
    this.#notifications = [entry, ...this.#notifications].slice(0, NOTIFICATIONS_KEPT);
    this.#notificationsChanged();
  }

  #changeNotifications(change) {
    this.#notifications = this.#notifications.map(change);
    this.#notificationsChanged();
  }

  #notificationsChanged() {
    this.#emit("notifications", { items: this.notifications, unread: this.unread });
    this.#save();
  }

  #saveSoon() {
    if (this.#storage === null || this.#saveTimer !== null) return;
    this.#saveTimer = setTimeout(() => this.#save(), SAVE_DELAY_MS);
  }

  #save() {
    if (this.#saveTimer !== null) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    if (this.#storage === null) return;
    const saved = { lastEventId: this.#lastEventId, notifications: this.#notifications };
    try {
      this.#storage.setItem(this.#storageKey, JSON.stringify(saved));
    } catch {
      // storage full or refused (private mode): the client keeps working from memory
    }
  }

  // State and listeners ------------------------------------------------------------------------------------------

  #setState(status, extra = {}) {
    this.#state = {
      status,
      attempt: this.#attempt,
      maxAttempts: this.#backoff.length,
      lastEventId: this.#lastEventId,
      ...extra,
    };
    this.#emit("state", this.state);
  }

  #emit(type, value) {
    for (const listener of this.#listeners.get(type) ?? []) {
      try {
        listener(value);
      } catch (error) {
        // One listener's bug must not stop the stream for the others.
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}
