// What the board knows: open and recently resolved incidents, alerts with their state, the SLA figures,
// and the last changes. Loaded whole from the REST API, then kept current by the stream's messages;
// filters only choose what is shown, so widening a filter brings back everything it hid. No DOM here.

export const SEVERITIES = ["critical", "high", "medium", "low"];
// A resolution stays on the board this long, shown as resolved, so a room sees it end.
export const RESOLVED_SHOWN_MS = 60 * 60 * 1000;
export const ACTIVITY_KEPT = 30;

const OPEN_INCIDENT = new Set(["open", "in_progress"]);
const ALERT_ORDER = { firing: 0, stale: 1, resolved: 2, expired: 2 };
// Resolved by its sender, or expired: closed by the service after it stopped hearing of it (docs/monitoring.md).
const ENDED_ALERT = new Set(["resolved", "expired"]);

export function severityRank(severity) {
  const rank = SEVERITIES.indexOf(severity);
  return rank === -1 ? SEVERITIES.length : rank;
}

export const isOpenIncident = (incident) => OPEN_INCIDENT.has(incident.status);
export const isFiring = (alert) => alert.status === "firing";
export const hasEnded = (alert) => ENDED_ALERT.has(alert.status);

function endedAt(item) {
  return Date.parse(item.resolved_at ?? item.updated_at ?? "") || 0;
}

// Still on the board: open or firing, or ended within the last hour.
function current(item, isLive, now) {
  return isLive(item) || now - endedAt(item) < RESOLVED_SHOWN_MS;
}

export const NO_FILTER = Object.freeze({
  severities: new Set(SEVERITIES),
  squads: null,
  environments: null,
  showResolved: true,
});

// The server's filter rule (docs/protocol.md): a filter applies to the items that carry its dimension.
export function passes(item, filter) {
  if (!filter.severities.has(item.severity)) return false;
  if (filter.squads !== null && typeof item.squad === "string" && !filter.squads.has(item.squad)) return false;
  const environment = item.environment;
  return filter.environments === null || typeof environment !== "string" || filter.environments.has(environment);
}

function bySeverityThenNewest(a, b, time) {
  return severityRank(a.severity) - severityRank(b.severity) || Date.parse(time(b)) - Date.parse(time(a));
}

export class Board {
  incidents = new Map();
  alerts = new Map();
  sla = null;
  activity = [];

  /** Everything the REST API answered: replaces what was known. */
  replace({ incidents, alerts, sla }) {
    this.incidents = new Map(incidents.map((incident) => [incident.id, incident]));
    this.alerts = new Map(alerts.map((alert) => [alert.id, alert]));
    this.sla = sla;
  }

  /** One stream message; true if the board changed. Each message carries its row's whole state. */
  apply(message) {
    if (message.type === "incident") this.#put(this.incidents, message);
    else if (message.type === "alert") this.#put(this.alerts, message);
    else return false;
    this.activity = [message, ...this.activity].slice(0, ACTIVITY_KEPT);
    return true;
  }

  #put(rows, message) {
    if (message.action === "deleted") {
      rows.delete(message.data.id);
      return;
    }
    // A REST row may know more than the message (an alert's squad): keep what the message does not say.
    rows.set(message.data.id, { ...rows.get(message.data.id), ...message.data, updated_at: message.data.updated_at ?? message.timestamp });
  }

  /** The incidents to show: open, or resolved within the hour; most severe first. */
  shownIncidents(filter, now) {
    return [...this.incidents.values()]
      .filter((incident) => current(incident, isOpenIncident, now) && passes(incident, filter))
      .filter((incident) => filter.showResolved || isOpenIncident(incident))
      .sort((a, b) => Number(isOpenIncident(b)) - Number(isOpenIncident(a)) || bySeverityThenNewest(a, b, (i) => i.created_at));
  }

  /** The alerts to show: firing, stale, or ended (resolved, expired) within the hour; firing first, most severe first. */
  shownAlerts(filter, now) {
    return [...this.alerts.values()]
      .filter((alert) => current(alert, (a) => !hasEnded(a), now) && passes(alert, filter))
      .filter((alert) => filter.showResolved || !hasEnded(alert))
      .sort((a, b) => ALERT_ORDER[a.status] - ALERT_ORDER[b.status] || bySeverityThenNewest(a, b, (x) => x.triggered_at));
  }

  /** Counts by severity of what is open (or firing) and passes the filter. */
  counts(filter, now) {
    const incidents = this.shownIncidents(filter, now).filter(isOpenIncident);
    const alerts = this.shownAlerts(filter, now);
    return {
      incidents: tally(incidents),
      alerts: tally(alerts.filter(isFiring)),
      stale: alerts.filter((alert) => alert.status === "stale").length,
      totalIncidents: [...this.incidents.values()].filter(isOpenIncident).length,
      totalAlerts: [...this.alerts.values()].filter(isFiring).length,
    };
  }

  /** The squads and environments seen, for the filter's suggestions. */
  dimensions() {
    const squads = new Set();
    const environments = new Set();
    for (const row of [...this.incidents.values(), ...this.alerts.values()]) {
      if (typeof row.squad === "string") squads.add(row.squad);
      if (typeof row.environment === "string") environments.add(row.environment);
    }
    return { squads: [...squads].sort(), environments: [...environments].sort() };
  }
}

function tally(rows) {
  const bySeverity = Object.fromEntries(SEVERITIES.map((severity) => [severity, 0]));
  for (const row of rows) bySeverity[row.severity] = (bySeverity[row.severity] ?? 0) + 1;
  return { total: rows.length, bySeverity };
}
