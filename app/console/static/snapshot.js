// The board's starting point, from the REST API with the session cookie: open incidents, firing and stale
// alerts, what ended within the hour, and the SLA figures. Lists are paged by their cursors, up to a bound
// that no real wall reaches; past it the board says the list is cut rather than growing without end.

import { RESOLVED_SHOWN_MS } from "./board-model.js";

const PAGE = 200;
const MAX_PAGES = 10;

export class SnapshotError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function getJson(path) {
  const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).error.message;
    } catch {
      // not the service's error shape (a proxy's page): keep the status text
    }
    throw new SnapshotError(response.status, `${path.split("?")[0]}: ${message}`);
  }
  return response.json();
}

async function every(path, query) {
  const rows = [];
  let cursor = null;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const params = new URLSearchParams({ ...query, limit: String(PAGE) });
    if (cursor !== null) params.set("cursor", cursor);
    const answer = await getJson(`${path}?${params}`);
    rows.push(...answer.items);
    cursor = answer.next_cursor ?? null;
    if (cursor === null) return { rows, cut: false };
  }
  return { rows, cut: true };
}

export async function loadSnapshot(now = Date.now()) {
  const since = new Date(now - RESOLVED_SHOWN_MS).toISOString();
  const [open, ended, firing, resolved, sla] = await Promise.all([
    every("/api/incidents", { status: "open,in_progress", sort: "severity" }),
    every("/api/incidents", { status: "resolved,closed", updated_since: since }),
    every("/api/alerts", { status: "firing,stale", sort: "severity" }),
    every("/api/alerts", { status: "resolved,expired", updated_since: since }),
    loadSla(),
  ]);
  return {
    incidents: [...open.rows, ...ended.rows],
    alerts: [...firing.rows, ...resolved.rows],
    sla,
    cut: open.cut || firing.cut,
  };
}

export function loadSla() {
  return getJson("/api/metrics/sla");
}
