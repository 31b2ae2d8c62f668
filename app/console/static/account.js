// Who is signed in, and keeping it so: sign-in, sign-out, and renewing the session before it ends
// without taking the board down (a fresh token sets a fresh cookie and goes to the open socket in-band).
// The token passes through the page once per sign-in or renewal and is never kept: the cookie is HttpOnly.

import { currentSession, signIn, signOut } from "./session.js";

const PUBLISHING_ROLES = ["publisher", "admin"];
// From this long before the session ends, the board asks for a fresh token.
const RENEW_WARNING_MS = 15 * 60 * 1000;

const $ = (id) => document.getElementById(id);
let session = null;
let handlers = null;
let ended = false;

function scopeText(info) {
  return `(${info.roles.join(", ")}; squads ${info.squads.join(", ")}; ` +
    `environments ${info.environments.join(", ")}; until ${info.expires_at})`;
}

function showIdentity(info) {
  $("identity-sub").textContent = info.sub;
  $("identity-scope").textContent = scopeText(info);
  const mayPublish = info.roles.some((role) => PUBLISHING_ROLES.includes(role));
  $("publish-fields").disabled = !mayPublish;
  $("publish-role").hidden = mayPublish;
}

function signedIn(info) {
  session = info;
  ended = false;
  showIdentity(info);
  $("identity").hidden = false;
  $("sign-in").hidden = true;
  $("renew").hidden = true;
  $("board").hidden = false;
  handlers.signedIn(info);
}

function showSignIn(reason) {
  session = null;
  $("identity").hidden = true;
  $("board").hidden = true;
  $("renew").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = reason;
  $("connection").dataset.state = "idle";
  $("connection-state").textContent = "disconnected";
  $("token").focus();
}

// Out of the field at once: the cookie is where the token lives from now on.
function takeToken(input) {
  const token = input.value.trim();
  input.value = "";
  return token;
}

async function submitSignIn(event) {
  event.preventDefault();
  const token = takeToken($("token"));
  $("sign-in-error").textContent = "";
  try {
    signedIn(await signIn(token));
  } catch (error) {
    $("sign-in-error").textContent = `sign-in refused (${error.status ?? "network"}): ${error.message}`;
  }
}

async function submitRenewal(event) {
  event.preventDefault();
  const token = takeToken($("renew-token"));
  try {
    const fresh = await signIn(token);
    if (fresh.sub !== session.sub) {
      handlers.signedOut();
      signedIn(fresh);
      return;
    }
    session = fresh;
    ended = false;
    showIdentity(fresh);
    await handlers.renewed(token);
    $("renew").hidden = true;
    $("renew-status").textContent = "";
  } catch (error) {
    $("renew-status").textContent = `refused (${error.status ?? error.code ?? "network"}): ${error.detail ?? error.message}`;
  }
}

async function leave() {
  try {
    await signOut();
  } finally {
    handlers.signedOut();
    showSignIn("");
  }
}

function minutesLeft() {
  return Math.max(0, Math.ceil((Date.parse(session.expires_at) - Date.now()) / 60_000));
}

function askForRenewal(text) {
  $("renew-when").textContent = text;
  $("renew").hidden = false;
}

export const account = {
  async start(callbacks) {
    handlers = callbacks;
    $("sign-in-form").addEventListener("submit", submitSignIn);
    $("renew-form").addEventListener("submit", submitRenewal);
    $("sign-out").addEventListener("click", leave);
    const info = await currentSession().catch(() => null);
    if (info === null) showSignIn("");
    else signedIn(info);
  },

  /** The session ended under the board (close 4001, or a 401): keep the board, ask for a fresh token. */
  expired() {
    if (session === null) return;
    ended = true;
    askForRenewal("The session has ended: the board is no longer live.");
  },

  tick() {
    if (session === null || ended) return;
    if (Date.parse(session.expires_at) - Date.now() < RENEW_WARNING_MS) {
      askForRenewal(`The session ends in ${minutesLeft()} min.`);
    }
  },
};
