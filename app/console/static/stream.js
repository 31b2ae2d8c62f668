// The socket, kept the way the contract asks a client to keep it.
//
// Reconnects after a drop with exponential backoff (3 s, 6 s, 12 s, 24 s,
// 48 s; five tries, then gives up until told to try again), re-subscribes to
// the same topics and filters, and resumes with ?last_event_id= from the last
// event it saw, so nothing is missed. Event ids only grow, so an id at or below
// the last one seen is a duplicate and is dropped: nothing is shown twice.
// No DOM here: the page hears about states, events and replies through callbacks.

export const TOPICS = ["incident", "task", "asset", "alert", "notification", "metric"];
export const BACKOFF_SECONDS = [3, 6, 12, 24, 48];
export const MAX_ATTEMPTS = BACKOFF_SECONDS.length;

// docs/protocol.md: the token expired and no fresh one came; reconnecting with
// the same cookie would only be refused.
const TOKEN_EXPIRED = 4001;
const NORMAL_CLOSURE = 1000;

export function socketUrl(location, lastEventId) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const resume = lastEventId === null ? "" : `?last_event_id=${lastEventId}`;
  return `${scheme}//${location.host}/api/ws${resume}`;
}

// The server's filter rule (docs/protocol.md): a filter applies to events that
// carry its dimension. Applied here too because a resumed connection replays
// what it missed before the server has read the page's `subscribe`.
export function matches(message, subscription) {
  if (!subscription.topics.has(message.type)) return false;
  const data = message.data ?? {};
  const { squads, environments } = subscription;
  if (squads !== null && typeof data.squad === "string" && !squads.includes(data.squad)) return false;
  return !(environments !== null && typeof data.environment === "string" && !environments.includes(data.environment));
}

export const EVERYTHING = Object.freeze({ topics: new Set(TOPICS), squads: null, environments: null });

export class Stream {
  #location;
  #listeners;
  #ws = null;
  #connected = false;
  #stopped = true;
  #timer = null;
  #attempt = 0;
  #lastId = null;
  #subscription = EVERYTHING;
  #sequence = 0;
  #pending = new Map();

  constructor(location, { onState, onEvent, onReply }) {
    this.#location = location;
    this.#listeners = { onState, onEvent, onReply };
  }

  get connected() {
    return this.#connected;
  }

  get lastEventId() {
    return this.#lastId;
  }

  start() {
    this.#stopped = false;
    this.#attempt = 0;
    this.#connect();
  }

  stop() {
    this.#stopped = true;
    this.#cancelTimer();
    const ws = this.#ws;
    this.#ws = null;
    this.#connected = false;
    this.#lastId = null;
    if (ws !== null) ws.close(NORMAL_CLOSURE, "signed out");
  }

  subscribe(subscription) {
    this.#subscription = subscription;
    if (this.#connected) this.#sendSubscription();
  }

  // A test notification in the contract's message shape; its answer arrives
  // through onReply with kind "publish". Returns the request id, or null when
  // there is no connection to send it on.
  publish(data) {
    if (!this.#connected) return null;
    const id = this.#request("publish");
    this.#send({ id, type: "notification", action: "created", data, timestamp: new Date().toISOString() });
    return id;
  }

  #connect() {
    this.#cancelTimer();
    const previous = this.#ws;
    this.#ws = null;
    if (previous !== null) previous.close(NORMAL_CLOSURE, "reconnecting");
    this.#state("connecting");
    const ws = new WebSocket(socketUrl(this.#location, this.#lastId));
    this.#ws = ws;
    ws.addEventListener("message", (message) => this.#receive(ws, message.data));
    ws.addEventListener("close", (event) => this.#closed(ws, event));
  }

  #receive(ws, text) {
    if (ws !== this.#ws) return;
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof message.id === "number") {
      this.#event(message);
    } else if (message.type === "connection" && message.action === "established") {
      this.#established(message.data);
    } else {
      this.#reply(message);
    }
  }

  #established(data) {
    this.#connected = true;
    this.#attempt = 0;
    // Nothing seen yet: the stream starts after `position`, so resume from there.
    if (this.#lastId === null) this.#lastId = data.position;
    this.#sendSubscription();
    this.#state("connected", { resumedFrom: data.resume ? data.resume.from : null });
  }

  #event(message) {
    if (this.#lastId !== null && message.id <= this.#lastId) return;
    this.#lastId = message.id;
    if (matches(message, this.#subscription)) this.#listeners.onEvent(message);
  }

  #reply(message) {
    const data = message.data ?? {};
    if (message.type === "error" && data.code === "RESUME_POSITION_UNKNOWN") {
      // The log is behind our last id (a database reset): start from now.
      this.#lastId = null;
    }
    const id = data.original_message_id;
    const kind = this.#pending.get(id) ?? "stream";
    this.#pending.delete(id);
    this.#listeners.onReply(kind, message);
  }

  #closed(ws, event) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#connected = false;
    this.#pending.clear();
    if (this.#stopped) return;
    if (event.code === TOKEN_EXPIRED) {
      this.#state("expired");
    } else if (this.#attempt >= MAX_ATTEMPTS) {
      this.#state("disconnected");
    } else {
      this.#attempt += 1;
      this.#countdown(BACKOFF_SECONDS[this.#attempt - 1]);
    }
  }

  #countdown(seconds) {
    this.#state("reconnecting", { seconds });
    this.#timer = setTimeout(() => (seconds > 1 ? this.#countdown(seconds - 1) : this.#connect()), 1000);
  }

  #cancelTimer() {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #sendSubscription() {
    const { topics, squads, environments } = this.#subscription;
    const filters = {};
    if (squads !== null) filters.squad = squads;
    if (environments !== null) filters.environment = environments;
    this.#send({ id: this.#request("subscribe"), action: "subscribe", topics: [...topics], filters });
    const dropped = TOPICS.filter((topic) => !topics.has(topic));
    if (dropped.length > 0) this.#send({ id: this.#request("subscribe"), action: "unsubscribe", topics: dropped });
  }

  #request(kind) {
    this.#sequence += 1;
    const id = `${kind}-${this.#sequence}`;
    this.#pending.set(id, kind);
    return id;
  }

  #send(message) {
    this.#ws.send(JSON.stringify(message));
  }

  #state(name, extra = {}) {
    this.#listeners.onState({ name, attempt: this.#attempt, maxAttempts: MAX_ATTEMPTS, ...extra });
  }
}
