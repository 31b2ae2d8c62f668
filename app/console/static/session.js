// The session cookie, through /api/session. The token goes to the server once,
// in the sign-in request; the server keeps it in an HttpOnly cookie, so no
// script on this page can read it back, and it is never stored here.

const ENDPOINT = "/api/session";

export class SessionError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function answer(response) {
  if (response.ok) return response.status === 204 ? null : response.json();
  let message = response.statusText;
  try {
    message = (await response.json()).error.message;
  } catch {
    // not our error shape (a proxy's page): keep the status text
  }
  throw new SessionError(response.status, message);
}

function request(method, body) {
  const init = { method, credentials: "same-origin", cache: "no-store", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(ENDPOINT, init).then(answer);
}

export function signIn(token) {
  return request("POST", { token });
}

// Who the cookie belongs to, or null when there is no valid session.
export async function currentSession() {
  try {
    return await request("GET");
  } catch (error) {
    if (error instanceof SessionError && error.status === 401) return null;
    throw error;
  }
}

export function signOut() {
  return request("DELETE");
}
