// The admin REST API (`/api/v1`): one fetch wrapper that sends the CSRF token with every
// change and turns every error answer into an ApiError whose message is the server's words.

/** An error answer of the API (or a network failure, status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The logged-in session as `GET /api/v1/session` reports it. */
export interface Session {
  account_id: number;
  account: string;
  write: boolean;
  csrf_token: string;
  eula_required: boolean;
  eula_version: string;
  password_change_required: boolean;
  second_factor: boolean;
}

let csrf = "";
let onUnauthorised: (message?: string) => void = () => {};

/** Sets the CSRF token sent with every change. */
export function setCsrf(token: string): void {
  csrf = token;
}

/** What to do when the session has ended (401 on a call other than login), with the
 * message the login page shows. */
export function whenUnauthorised(f: (message?: string) => void): void {
  onUnauthorised = f;
}

/** The message of the session's end when it is known before the 401 that tells it. */
let endMessage: string | undefined;

/** Says why the session may end (a database import ends every session on the MOM, before
 * its own answer): whichever call meets the end first, the login page shows `message`;
 * `undefined` takes it back. */
export function sessionWillEnd(message: string | undefined): void {
  endMessage = message;
}

/** Ends the session on this page and shows the login page with `message`. */
export function endSession(message: string): void {
  endMessage = undefined;
  onUnauthorised(message);
}

/** Options of one call. */
export interface CallOptions {
  /** A body that is not JSON (text or bytes) and its content type. */
  raw?: { body: BodyInit; type: string };
  /** Read the answer as text instead of JSON. */
  text?: boolean;
  /** Do not treat 401 as the end of the session (login itself). */
  quiet401?: boolean;
}

function words(status: number, code: string, message: string): string {
  // The parser's position in the JSON body means nothing to an administrator.
  if (message) return message.replace(/ at line \d+ column \d+$/, "");
  switch (status) {
    case 0:
      return "The MOM cannot be reached. Check the network connection and try again.";
    case 401:
      return "Your session has ended. Please log in again.";
    case 403:
      return "Your account is not permitted to do this.";
    case 404:
      return "That record no longer exists.";
    default:
      return `The MOM refused the request (${status} ${code}).`;
  }
}

/** Calls `method path` with an optional JSON body; resolves to the parsed answer. */
export async function call<T = unknown>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  let payload: BodyInit | undefined;
  if (options.raw) {
    headers["content-type"] = options.raw.type;
    payload = options.raw.body;
  } else if (body !== undefined) {
    headers["content-type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network", words(0, "network", ""));
  }
  if (!response.ok) {
    let code = "error";
    let message = "";
    try {
      const e = await response.json();
      code = e.error ?? code;
      message = e.message ?? "";
    } catch {
      /* not JSON: keep the generic words */
    }
    if (response.status === 401 && !options.quiet401) {
      const message = endMessage;
      endMessage = undefined;
      onUnauthorised(message);
    }
    throw new ApiError(response.status, code, words(response.status, code, message));
  }
  if (response.status === 204) return undefined as T;
  if (options.text) return (await response.text()) as T;
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) return (await response.text()) as T;
  return (await response.json()) as T;
}

/** GET shorthand. */
export const get = <T>(path: string) => call<T>("GET", path);

/** Streams an NDJSON answer, calling `line` for each parsed line. */
export async function stream(method: string, path: string, raw: { body: BodyInit; type: string }, line: (v: any) => void): Promise<void> {
  const headers: Record<string, string> = { "content-type": raw.type, "x-csrf-token": csrf };
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: raw.body, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, "network", words(0, "network", ""));
  }
  if (!response.ok || !response.body) {
    let e: any = {};
    try {
      e = await response.json();
    } catch {
      /* keep the generic words */
    }
    throw new ApiError(response.status, e.error ?? "error", words(response.status, e.error ?? "error", e.message ?? ""));
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += value;
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const text = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (text) line(JSON.parse(text));
    }
    if (done) break;
  }
  if (buffer.trim()) line(JSON.parse(buffer));
}
