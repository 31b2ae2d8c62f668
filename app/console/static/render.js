// What the page shows, built with textContent only: text from events is
// shown as text, never parsed as markup.

// The fields that tell one message of a type from another, in display order.
export const KEY_FIELDS = {
  incident: ["jira_id", "title", "severity", "status", "squad"],
  task: ["jira_id", "title", "status", "priority", "squad"],
  asset: ["hostname", "asset_type", "risk_level", "environment"],
  alert: ["metric", "value", "severity", "environment"],
  notification: ["title", "type", "priority"],
  metric: ["metric_name", "value", "unit", "environment"],
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function field(name, value) {
  const node = element("span", "field", String(value));
  node.dataset.field = name;
  node.title = name;
  if (typeof value === "string") node.dataset.value = value;
  return node;
}

// One stream message as a list item: id, time (UTC), type, action, key fields.
export function eventItem(message) {
  const item = element("li", "event");
  item.dataset.id = String(message.id);
  item.dataset.type = message.type;
  const time = element("time", "event-time", (message.timestamp ?? "").slice(11, 19));
  time.dateTime = message.timestamp ?? "";
  time.title = message.timestamp ?? "";
  const fields = element("span", "event-fields");
  const data = message.data ?? {};
  for (const name of KEY_FIELDS[message.type] ?? []) {
    if (data[name] !== undefined && data[name] !== null) fields.append(field(name, data[name]));
  }
  item.append(
    element("span", "event-id", `#${message.id}`),
    time,
    element("span", "event-type", message.type),
    element("span", "event-action", message.action),
    fields,
  );
  return item;
}

function list(values) {
  return values === null ? "*" : values.join(", ");
}

export function stateText(state) {
  const attempt = `attempt ${state.attempt} of ${state.maxAttempts}`;
  switch (state.name) {
    case "connecting":
      return state.attempt > 0 ? `connecting (${attempt})` : "connecting";
    case "reconnecting":
      return `reconnecting in ${state.seconds}s (${attempt})`;
    case "expired":
      return "disconnected: the token expired, sign in again";
    default:
      return state.name;
  }
}

export function scopeText(session) {
  return `(${session.roles.join(", ")}; squads ${session.squads.join(", ")}; ` +
    `environments ${session.environments.join(", ")}; until ${session.expires_at})`;
}

// An ack's topics ({"incident": {"squad": ["ops"]}, ...}) in a line.
export function subscriptionText(ack) {
  const topics = Object.entries(ack.data.topics ?? {}).map(([topic, filters]) => {
    const narrowed = Object.entries(filters).map(([name, values]) => `${name} ${list(values)}`);
    return narrowed.length > 0 ? `${topic} (${narrowed.join("; ")})` : topic;
  });
  const what = topics.length > 0 ? topics.join(", ") : "nothing";
  return `receiving ${what} after position ${ack.data.position}`;
}

export function errorText(message) {
  return `${message.data.code}: ${message.data.message}`;
}
