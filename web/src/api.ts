// The generated clients over gRPC-Web, the bearer token (kept for this tab
// only) and the reading of errors. The server is the page's own origin, or
// `?server=URL` while the page is served from elsewhere (development).

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { DirectoryService } from "./gen/kicer/v1/directory_pb";
import { InsightsService } from "./gen/kicer/v1/insights_pb";
import { QuestionService } from "./gen/kicer/v1/questions_pb";
import { TriageService } from "./gen/kicer/v1/triage_pb";
import { t } from "./i18n";

const TOKEN_KEY = "kicer.token";
const ACTOR_KEY = "kicer.actor";

export function serverUrl(): string {
  const given = new URLSearchParams(location.search).get("server");
  return (given || location.origin).replace(/\/+$/, "");
}

export function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** The name recorded in the history (`actor`); not a secret, so kept across tabs. */
export function actor(): string {
  return localStorage.getItem(ACTOR_KEY) ?? "";
}

export function setActor(name: string): void {
  localStorage.setItem(ACTOR_KEY, name.trim());
}

/** Asks the person for a token; set by the shell (a dialog). */
let tokenPrompt: () => Promise<string | null> = async () => null;
let pending: Promise<string | null> | null = null;

export function setTokenPrompt(f: () => Promise<string | null>): void {
  tokenPrompt = f;
}

/** Asks once even when several calls fail together. */
export function askToken(): Promise<string | null> {
  if (!pending) {
    pending = tokenPrompt().then((v) => {
      pending = null;
      if (v) sessionStorage.setItem(TOKEN_KEY, v.trim());
      return v;
    });
  }
  return pending;
}

export function isCode(e: unknown, code: Code): boolean {
  return e instanceof ConnectError && e.code === code;
}

/** Told when the event stream's response headers arrive (it is live). */
let onWatchOpen: () => void = () => {};
export function setWatchOpen(f: () => void): void {
  onWatchOpen = f;
}

const auth: Interceptor = (next) => async (req) => {
  const tok = token();
  if (tok) req.header.set("authorization", `Bearer ${tok}`);
  if (req.stream) {
    const res = await next(req);
    if (req.method.name === "WatchEvents") onWatchOpen();
    return res;
  }
  try {
    return await next(req);
  } catch (e) {
    // A unary call is safe to send again once the person gave a token.
    if (isCode(e, Code.Unauthenticated) && (await askToken())) {
      req.header.set("authorization", `Bearer ${token()}`);
      return await next(req);
    }
    throw e;
  }
};

const transport = createGrpcWebTransport({ baseUrl: serverUrl(), interceptors: [auth] });

export const questions = createClient(QuestionService, transport);
export const triage = createClient(TriageService, transport);
export const directory = createClient(DirectoryService, transport);
export const insights = createClient(InsightsService, transport);

/** What to tell the person about a failed call. */
export function explain(e: unknown): string {
  if (e instanceof ConnectError) {
    switch (e.code) {
      case Code.Aborted:
        return t.conflict;
      case Code.NotFound:
        return `${t.notFound} (${e.rawMessage})`;
      case Code.PermissionDenied:
        return t.permission;
      case Code.Unavailable:
        return t.unreachable;
      default:
        return `${t.failed}: ${e.rawMessage} (${Code[e.code]})`;
    }
  }
  return `${t.failed}: ${String(e)}`;
}
