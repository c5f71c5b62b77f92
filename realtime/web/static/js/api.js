// The one way the page talks to the service: HTTP calls and the two WebSockets.
//
// Every error the service sends is application/problem+json with a stable `code`
// (see the README's error table); a failed call throws an ApiProblem carrying it, so
// the views show `code` and `detail` and branch on `code`, never on the wording.
// The API key travels in the X-API-Key header, and on a WebSocket as a subprotocol:
// never in a URL, so it cannot end up in history, a referrer or an access log.

const SUBPROTOCOL = "tradepipe.v1";
const KEY_PREFIX = "tradepipe.key.";

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiProblem";
    this.status = status;
    this.code = problem.code || `HTTP_${status}`;
    this.detail = problem.detail || "";
    this.title = problem.title || "";
    this.requestId = problem.request_id || null;
    this.order = problem.order || null; // a risk rejection carries the journaled order
  }
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      // fall through: a body that is not the JSON it claims
    }
  }
  return { code: `HTTP_${response.status}`, detail: response.statusText };
}

function base64url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export class ApiClient {
  constructor(apiKey) {
    this.apiKey = apiKey;
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (this.apiKey) headers["X-API-Key"] = this.apiKey;
    const init = { method, headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch {
      throw new ApiProblem(0, { code: "SERVICE_UNREACHABLE", detail: "the service did not answer" });
    }
    if (!response.ok) throw new ApiProblem(response.status, await problemOf(response));
    if (response.status === 204) return null;
    return response.json();
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body) {
    return this.request("POST", path, body);
  }

  put(path, body) {
    return this.request("PUT", path, body);
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  /** Every page of a cursor-paged list (`next_cursor`), concatenated. */
  async all(path, field) {
    const items = [];
    let cursor = 0;
    for (;;) {
      const separator = path.includes("?") ? "&" : "?";
      const page = await this.get(`${path}${separator}limit=1000&cursor=${cursor}`);
      items.push(...page[field]);
      if (page.next_cursor === null || page.next_cursor === undefined) return items;
      cursor = page.next_cursor;
    }
  }

  /** A WebSocket on this service; authenticated ones carry the key as a subprotocol. */
  socket(path, { authenticated = false } = {}) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url = `${scheme}//${location.host}${path}`;
    if (!authenticated) return new WebSocket(url);
    return new WebSocket(url, [SUBPROTOCOL, KEY_PREFIX + base64url(this.apiKey)]);
  }
}

/** Who a key belongs to: an account that trades, or an admin (who does not). */
export async function identify(client) {
  try {
    const pnl = await client.get("/pnl");
    return { role: "account", name: pnl.account };
  } catch (error) {
    if (!(error instanceof ApiProblem) || error.code !== "ACCOUNT_KEY_REQUIRED") throw error;
  }
  await client.get("/admin/trading-state");
  return { role: "admin", name: "admin" };
}
