// The one API client: openapi-fetch over the types generated from the merged OpenAPI
// (src/api/schema.d.ts, written by `npm run schema`), with the session's bearer token,
// one refresh at a time on a 401, and problems turned into errors that carry their title.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Conversation = Schemas["ConversationOut"];
export type Message = Schemas["MessageOut"];
export type Agent = Schemas["AgentOut"];
export type ActiveVisitor = Schemas["ActiveVisitor"];
export type Visitor = Schemas["VisitorOut"];
export type Problem = Schemas["Problem"];
export type Tokens = Schemas["TokensOut"];

const SESSION_KEY = "parley.session";

export class ProblemError extends Error {
  constructor(readonly problem: Partial<Problem>) {
    super(problem.title || "Something went wrong");
  }
}

type Session = { access_token: string; refresh_token: string };

export function loadSession(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}

export function saveSession(tokens: Session | null): void {
  if (tokens) {
    const { access_token, refresh_token } = tokens;
    localStorage.setItem(SESSION_KEY, JSON.stringify({ access_token, refresh_token }));
  } else {
    localStorage.removeItem(SESSION_KEY);
  }
  onSessionChange?.(tokens !== null);
}

let onSessionChange: ((signedIn: boolean) => void) | null = null;
export function watchSession(fn: (signedIn: boolean) => void): void {
  onSessionChange = fn;
}

let refreshing: Promise<boolean> | null = null;

// Refresh tokens rotate and a reused one ends the whole family: never two refreshes at once.
function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const session = loadSession();
    if (!session) return false;
    const resp = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: session.refresh_token }),
    });
    if (!resp.ok) {
      saveSession(null);
      return false;
    }
    saveSession(await resp.json());
    return true;
  })().finally(() => (refreshing = null));
  return refreshing;
}

function withToken(request: Request): Request {
  const session = loadSession();
  if (!session) return request;
  const headers = new Headers(request.headers);
  headers.set("Authorization", `Bearer ${session.access_token}`);
  return new Request(request, { headers });
}

async function authedFetch(request: Request): Promise<Response> {
  const retry = request.clone();
  let resp: Response;
  try {
    resp = await fetch(withToken(request));
  } catch {
    throw new ProblemError({ title: "No connection to Parley. Check your network." });
  }
  if (resp.status === 401 && !request.url.includes("/auth/") && (await refresh())) {
    resp = await fetch(withToken(retry));
  }
  return resp;
}

export const api = createClient<paths>({ fetch: authedFetch });

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The body of a successful answer, or a ProblemError with the problem's title. */
export async function ok<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) {
    const problem = (error && typeof error === "object" ? error : {}) as Partial<Problem>;
    throw new ProblemError({ title: problem.title || `${response.status} ${response.statusText}`, ...problem });
  }
  return (data ?? null) as T; // null for a 204: still "done", unlike a failed attempt
}

/** A multipart upload of one file (attachments, avatar). */
export function fileBody(file: File): FormData {
  const form = new FormData();
  form.append("file", file);
  return form;
}

export const multipart = { bodySerializer: (body: unknown) => body as FormData };
