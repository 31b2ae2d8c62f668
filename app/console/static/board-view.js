// How the board looks, built with textContent only: text from events is shown as text, never parsed
// as markup. Severity and state are words as well as colours, so they read from across a room and
// for those who do not tell red from green.

import { SEVERITIES, isOpenIncident } from "./board-model.js";

// Past this many cards a column says how many more there are instead of growing the page.
const CARDS_SHOWN = 100;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function ago(timestamp, now) {
  const seconds = Math.max(0, Math.round((now - Date.parse(timestamp)) / 1000));
  if (Number.isNaN(seconds)) return "";
  if (seconds < 45) return "just now";
  if (seconds < 90) return "1 min ago";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.round((seconds % 3600) / 60);
  return minutes === 0 ? `${hours} h` : `${hours} h ${minutes} min`;
}

/** A <time> saying how long ago, the exact instant in its title; the board's ticker keeps it current. */
function when(prefix, timestamp, now) {
  const node = element("time", "ago", `${prefix}${ago(timestamp, now)}`);
  node.dateTime = timestamp ?? "";
  node.title = timestamp ?? "";
  node.dataset.prefix = prefix;
  return node;
}

export function refreshTimes(root, now) {
  for (const node of root.querySelectorAll("time.ago")) {
    node.textContent = `${node.dataset.prefix}${ago(node.dateTime, now)}`;
  }
}

function badge(kind, value) {
  const node = element("span", `badge ${kind}-${value}`, value.replace("_", " "));
  node.dataset[kind] = value;
  return node;
}

function card(item, kind, state) {
  const node = element("li", `card severity-${item.severity} state-${state}`);
  node.dataset.id = item.id;
  node.dataset.kind = kind;
  node.dataset.severity = item.severity;
  node.dataset.state = state;
  return node;
}

function incidentCard(incident, now) {
  const state = isOpenIncident(incident) ? "open" : "resolved";
  const node = card(incident, "incident", state);
  const meta = [incident.squad, incident.assignee ?? "unassigned"].join(" · ");
  node.append(
    badge("severity", incident.severity),
    badge("status", incident.status),
    element("span", "key", incident.jira_id),
    element("span", "title", incident.title),
    element("span", "meta", meta),
    state === "open" ? when("opened ", incident.created_at, now) : when("resolved ", incident.updated_at, now),
  );
  return node;
}

const OPERATORS = { greater_than: ">", less_than: "<", equals: "=" };

function alertCard(alert, now) {
  const node = card(alert, "alert", alert.status);
  const where = [alert.environment, alert.resource_id].filter(Boolean).join(" · ");
  // Senders that name no threshold (Alertmanager) store 0: then the value alone says more.
  const reading = alert.threshold === 0 ? `value ${alert.value}` : `${alert.value} ${OPERATORS[alert.operator] ?? alert.operator} ${alert.threshold}`;
  node.append(
    badge("severity", alert.severity),
    badge("status", alert.status),
    element("span", "title", alert.metric),
    element("span", "meta", `${where} · ${reading}`),
    alert.status === "resolved" || alert.status === "expired"
      ? when(`${alert.status} `, alert.resolved_at ?? alert.updated_at, now)
      : when("firing since ", alert.triggered_at, now),
  );
  return node;
}

function fill(list, items, make, empty) {
  const nodes = items.slice(0, CARDS_SHOWN).map(make);
  if (items.length > CARDS_SHOWN) nodes.push(element("li", "more", `+${items.length - CARDS_SHOWN} more`));
  if (items.length === 0) nodes.push(element("li", "empty", empty));
  list.replaceChildren(...nodes);
}

export function renderIncidents(list, incidents, now) {
  fill(list, incidents, (incident) => incidentCard(incident, now), "No open incidents");
}

export function renderAlerts(list, alerts, now) {
  fill(list, alerts, (alert) => alertCard(alert, now), "No alerts firing");
}

function severityCounts(tally) {
  const row = element("span", "by-severity");
  for (const severity of SEVERITIES) {
    const count = element("span", `count severity-${severity}`, `${tally.bySeverity[severity]} ${severity}`);
    count.dataset.severity = severity;
    count.dataset.count = String(tally.bySeverity[severity]);
    row.append(count);
  }
  return row;
}

function setTile(tile, value, detail) {
  tile.querySelector(".value").textContent = value;
  tile.querySelector(".detail").replaceChildren(...detail);
}

export function renderTiles(tiles, counts, sla) {
  setTile(tiles.incidents, String(counts.incidents.total), [severityCounts(counts.incidents)]);
  const stale = counts.stale > 0 ? [element("span", "count stale", `${counts.stale} stale`)] : [];
  setTile(tiles.alerts, String(counts.alerts.total), [severityCounts(counts.alerts), ...stale]);
  if (sla === null) {
    setTile(tiles.sla, "–", [element("span", "", "no figures yet")]);
    return;
  }
  const { incidents } = sla;
  setTile(tiles.sla, `${sla.sla_percentage.toFixed(1)}%`, [
    element("span", "", `MTTR ${duration(sla.mean_time_to_resolve_seconds)}`),
    element("span", incidents.breached > 0 ? "count breached" : "", `${incidents.breached} breached`),
    element("span", "", `${incidents.open_within_target} open within target`),
  ]);
}

function activityItem(message, now) {
  const data = message.data;
  const item = element("li", `change severity-${data.severity}`);
  item.dataset.kind = message.type;
  const label = message.type === "incident" ? data.jira_id : data.metric;
  const what = message.type === "alert" ? data.status : `${message.action}, ${data.status.replace("_", " ")}`;
  item.append(
    badge("severity", data.severity),
    element("span", "key", label),
    element("span", "what", what),
    when("", message.timestamp, now),
  );
  return item;
}

export function renderActivity(list, activity, now) {
  fill(list, activity, (message) => activityItem(message, now), "Nothing changed since the board opened");
}

function notificationItem(entry, now) {
  const item = element("li", `notification type-${entry.type} priority-${entry.priority}`);
  item.dataset.id = entry.id;
  item.dataset.read = String(entry.read);
  item.append(
    element("span", "title", entry.title),
    element("span", "message", entry.message),
    when("", entry.timestamp, now),
  );
  return item;
}

export function renderNotifications(list, items, now) {
  fill(list, items, (entry) => notificationItem(entry, now), "No notifications");
}

/** The connection badge's words. */
export function stateText(state, now) {
  const attempt = `attempt ${state.attempt} of ${state.maxAttempts}`;
  switch (state.status) {
    case "open":
      return "live";
    case "connecting":
      return state.attempt > 0 ? `connecting (${attempt})` : "connecting";
    case "reconnecting":
      return `reconnecting in ${Math.max(1, Math.ceil((state.retryAt - now) / 1000))}s (${attempt})`;
    case "offline":
      return "offline";
    case "expired":
      return "signed out: the session expired";
    default:
      return state.status;
  }
}
