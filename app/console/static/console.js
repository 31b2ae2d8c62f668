// The live console: signs in, shows the stream, narrows it, sends test notifications.

import { errorText, eventItem, scopeText, stateText, subscriptionText } from "./render.js";
import { currentSession, signIn, signOut } from "./session.js";
import { matches, Stream, TOPICS } from "./stream.js";

// The list is bounded so a busy stream cannot grow the page without end.
const CAPACITY = 200;
const PUBLISHING_ROLES = ["publisher", "admin"];

const $ = (id) => document.getElementById(id);
const shown = new WeakMap(); // list item -> the message it shows

const stream = new Stream(window.location, { onState: showState, onEvent: showEvent, onReply: showReply });

function showState(state) {
  $("connection").dataset.state = state.name;
  $("connection-state").textContent = stateText(state);
  $("reconnect").hidden = state.name !== "disconnected";
  if (state.name === "expired") signedOut("Your token expired: sign in with a fresh one.");
}

function showEvent(message) {
  const events = $("events");
  const item = eventItem(message);
  shown.set(item, message);
  events.prepend(item);
  while (events.children.length > CAPACITY) events.lastElementChild.remove();
}

function showReply(kind, message) {
  if (kind === "subscribe") {
    $("subscription").textContent = message.type === "ack" ? subscriptionText(message) : errorText(message);
    $("subscription").classList.toggle("error", message.type === "error");
  } else if (kind === "publish") {
    const ok = message.type === "ack";
    $("publish-status").textContent = ok ? `sent: ${message.data.id}` : `refused: ${errorText(message)}`;
    $("publish-status").classList.toggle("error", !ok);
  } else if (message.type === "error") {
    $("subscription").textContent = errorText(message);
  }
}

function commaList(value) {
  const items = value.split(",").map((item) => item.trim()).filter((item) => item !== "");
  return items.length > 0 ? items : null;
}

function chosenSubscription() {
  const checked = [...document.querySelectorAll("#topics input:checked")].map((input) => input.value);
  return {
    topics: new Set(TOPICS.filter((topic) => checked.includes(topic))),
    squads: commaList($("filter-squad").value),
    environments: commaList($("filter-environment").value),
  };
}

function applyFilters(event) {
  event.preventDefault();
  const subscription = chosenSubscription();
  if (subscription.topics.size === 0) {
    $("subscription").textContent = "choose at least one topic";
    return;
  }
  // What is already listed follows the new filters too.
  for (const item of [...$("events").children]) {
    if (!matches(shown.get(item), subscription)) item.remove();
  }
  stream.subscribe(subscription);
}

function publish(event) {
  event.preventDefault();
  const id = stream.publish({
    title: $("publish-title").value,
    message: $("publish-message").value,
    type: $("publish-type").value,
    priority: $("publish-priority").value,
  });
  $("publish-status").textContent = id === null ? "not connected: wait for the stream to reconnect" : "sending…";
}

function signedIn(session) {
  $("identity-sub").textContent = session.sub;
  $("identity-scope").textContent = scopeText(session);
  $("identity").hidden = false;
  $("sign-in").hidden = true;
  $("console").hidden = false;
  const mayPublish = session.roles.some((role) => PUBLISHING_ROLES.includes(role));
  $("publish-fields").disabled = !mayPublish;
  $("publish-role").hidden = mayPublish;
  stream.subscribe(chosenSubscription());
  stream.start();
}

function signedOut(reason = "") {
  stream.stop();
  $("events").replaceChildren();
  $("subscription").textContent = "";
  $("publish-status").textContent = "";
  $("identity").hidden = true;
  $("console").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = reason;
  $("connection").dataset.state = "disconnected";
  $("connection-state").textContent = "disconnected";
  $("reconnect").hidden = true;
  $("token").focus();
}

async function submitToken(event) {
  event.preventDefault();
  const input = $("token");
  const token = input.value.trim();
  // Out of the page at once: the cookie is where the token lives from now on.
  input.value = "";
  $("sign-in-error").textContent = "";
  try {
    signedIn(await signIn(token));
  } catch (error) {
    $("sign-in-error").textContent = `sign-in refused (${error.status ?? "network"}): ${error.message}`;
  }
}

async function leave() {
  try {
    await signOut();
  } finally {
    signedOut();
  }
}

async function main() {
  $("capacity").textContent = String(CAPACITY);
  $("sign-in-form").addEventListener("submit", submitToken);
  $("sign-out").addEventListener("click", leave);
  $("reconnect").addEventListener("click", () => stream.start());
  $("filters-form").addEventListener("submit", applyFilters);
  $("publish-form").addEventListener("submit", publish);
  const session = await currentSession().catch(() => null);
  if (session === null) signedOut();
  else signedIn(session);
}

main();
