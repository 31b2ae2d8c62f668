// The operations board: what is open now, from the REST API, kept live by the stream through the
// frontend client (/client/ops-bridge.js), which reconnects, resumes and re-subscribes by itself.

import { OpsBridgeClient } from "/client/ops-bridge.js";
import { Board } from "./board-model.js";
import * as view from "./board-view.js";
import * as filters from "./filters.js";
import { loadSla, loadSnapshot } from "./snapshot.js";
import { account } from "./account.js";

const TOPICS = ["incident", "alert", "metric", "notification"];
const SLA_METRICS = ["sla_percentage", "mean_time_to_resolve"];
const RETRY_SNAPSHOT_MS = 10_000;
const SLA_REFETCH_DELAY_MS = 1000;
// Relative times and what ended more than an hour ago are redrawn this often.
const REDRAW_EVERY_TICKS = 15;

const $ = (id) => document.getElementById(id);
const board = new Board();
let client = null;
let filter = filters.filterFromUrl(window.location.href);
const wall = filters.isWall(window.location.href);
let snapshotTaken = false;
let loading = false;
let loadAgain = false;
let queued = [];
let renderPending = false;
let slaTimer = null;
let ticks = 0;

// Rendering ---------------------------------------------------------------------------------------------------------

function render() {
  renderPending = false;
  const now = Date.now();
  view.renderTiles(tiles(), board.counts(filter, now), board.sla);
  view.renderIncidents($("incident-list"), board.shownIncidents(filter, now), now);
  view.renderAlerts($("alert-list"), board.shownAlerts(filter, now), now);
  view.renderActivity($("activity-list"), board.activity, now);
  if (client !== null) view.renderNotifications($("notification-list"), client.notifications, now);
  $("unread").textContent = client === null || client.unread === 0 ? "" : `${client.unread} unread`;
  showFilterSummary(now);
  showSuggestions();
}

// Coalesced: a burst of messages in one task is drawn once, and never on a timer a paused clock would stop.
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  queueMicrotask(render);
}

function tiles() {
  return { incidents: $("tile-incidents"), alerts: $("tile-alerts"), sla: $("tile-sla") };
}

function showFilterSummary(now) {
  const counts = board.counts(filter, now);
  $("filter-summary").textContent = filters.isNarrowed(filter)
    ? `showing ${counts.incidents.total} of ${counts.totalIncidents} open incidents, ` +
      `${counts.alerts.total} of ${counts.totalAlerts} firing alerts`
    : "showing everything";
}

function showSuggestions() {
  const { squads, environments } = board.dimensions();
  const options = (values) => values.map((value) => Object.assign(document.createElement("option"), { value }));
  $("known-squads").replaceChildren(...options(squads));
  $("known-environments").replaceChildren(...options(environments));
}

function showState(state) {
  $("connection").dataset.state = state.status;
  $("connection-state").textContent = view.stateText(state, Date.now());
  $("reconnect").hidden = state.status !== "offline";
  if (state.status === "expired") account.expired();
}

// The snapshot and the stream ---------------------------------------------------------------------------------------

// Messages that arrive while the snapshot loads wait, then apply on top of it: each carries its row's whole
// state and the snapshot was read after the stream began, so the board ends where the service is.
async function takeSnapshot() {
  if (loading) {
    loadAgain = true;
    return;
  }
  loading = true;
  queued = [];
  try {
    const snapshot = await loadSnapshot();
    board.replace(snapshot);
    for (const message of queued) board.apply(message);
    snapshotTaken = true;
    $("load-status").textContent = snapshot.cut ? "Too many to list: showing the most severe." : "";
  } catch (error) {
    snapshotFailed(error);
  } finally {
    loading = false;
    queued = [];
    scheduleRender();
  }
  if (loadAgain) {
    loadAgain = false;
    await takeSnapshot();
  }
}

function snapshotFailed(error) {
  if (error.status === 401) {
    account.expired();
    return;
  }
  $("load-status").textContent = `Could not load the board (${error.message}); trying again in 10 s.`;
  setTimeout(takeSnapshot, RETRY_SNAPSHOT_MS);
}

function received(message) {
  if (loading) {
    queued.push(message);
    return;
  }
  if (message.type === "metric" && SLA_METRICS.includes(message.data.metric_name)) refetchSlaSoon();
  if (board.apply(message)) scheduleRender();
}

// An SLA figure changed: the page's figures are the caller's own (GET /api/metrics/sla), so read them again.
function refetchSlaSoon() {
  if (slaTimer !== null) return;
  slaTimer = setTimeout(async () => {
    slaTimer = null;
    board.sla = await loadSla().catch(() => board.sla);
    scheduleRender();
  }, SLA_REFETCH_DELAY_MS);
}

function startStream(session) {
  client = new OpsBridgeClient({
    url: window.location.href,
    topics: TOPICS,
    storage: window.localStorage,
    storageKey: `ops-bridge:board:${session.sub}`,
  });
  client.on("state", showState);
  client.on("established", () => snapshotTaken || takeSnapshot());
  client.on("refetch", () => takeSnapshot());
  client.on("event", received);
  client.on("notifications", scheduleRender);
  client.connect();
  scheduleRender();
}

function stopStream() {
  if (client === null) return;
  client.close();
  client.forget();
  client = null;
  snapshotTaken = false;
  board.replace({ incidents: [], alerts: [], sla: null });
  board.activity = [];
}

// Controls ----------------------------------------------------------------------------------------------------------

function applyFilter(event) {
  event?.preventDefault();
  filter = filters.filterFromForm($("filters-form"));
  window.history.replaceState(null, "", filters.urlWith(window.location.href, filter, wall));
  scheduleRender();
}

function showEverything() {
  const everything = filters.filterFromUrl(`${window.location.origin}${window.location.pathname}`);
  filters.showFilterInForm($("filters-form"), everything);
  applyFilter();
}

async function publish(event) {
  event.preventDefault();
  const status = $("publish-status");
  if (client === null || client.state.status !== "open") {
    status.textContent = "not connected: wait for the stream to reconnect";
    return;
  }
  const data = ["title", "message", "type", "priority"].map((name) => [name, $(`publish-${name}`).value]);
  status.textContent = "sending…";
  status.classList.remove("error");
  try {
    const ack = await client.publish(Object.fromEntries(data));
    status.textContent = `sent: ${ack.data.id}`;
  } catch (error) {
    status.textContent = `refused: ${error.code}: ${error.detail}`;
    status.classList.add("error");
  }
}

function tick() {
  if (client !== null && client.state.status === "reconnecting") showState(client.state);
  ticks += 1;
  if (ticks % REDRAW_EVERY_TICKS === 0) scheduleRender();
  account.tick();
}

function wire() {
  document.documentElement.classList.toggle("wall", wall);
  $("wall-link").href = filters.urlWith(window.location.href, filter, true);
  filters.showFilterInForm($("filters-form"), filter);
  $("filters-form").addEventListener("submit", applyFilter);
  $("filters-form").addEventListener("change", applyFilter);
  $("show-everything").addEventListener("click", showEverything);
  $("reconnect").addEventListener("click", () => client?.connect());
  $("mark-read").addEventListener("click", () => client?.markAllRead());
  $("publish-form").addEventListener("submit", publish);
  document.addEventListener("keydown", (event) => {
    if (wall && event.key === "Escape") window.location.assign(filters.urlWith(window.location.href, filter, false));
  });
  setInterval(tick, 1000);
}

wire();
account.start({
  signedIn: startStream,
  signedOut: stopStream,
  renewed: (token) => (client?.state.status === "open" ? client.refreshToken(token) : client?.connect()),
});
