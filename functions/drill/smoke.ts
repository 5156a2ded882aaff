/**
 * The runbook's smoke checks over HTTP (restore procedure steps 5 and 6). Each check returns the
 * evidence an on-call engineer needs (URL path, status, a short body excerpt) and throws the
 * failure class it is given (`ReadyNotOkError`, `SmokeFailedError`, …), the evidence inside.
 *
 * The admin logs in once per drill: the session (a cookie jar, as BT-CTS's `connect.sid`, or a
 * bearer token where configured) is serialized by the login step, kept in the drill secret and
 * restored by each later check. It never appears in a step's result, a log or a report.
 */
import makeFetchCookie from 'fetch-cookie';
import { CookieJar, type SerializedCookieJar } from 'tough-cookie';
import type { Config } from '../core/config.ts';
import { redactCredentials } from '../core/redact.ts';
import { AuthWriteFailedError, type DrillFailureClass } from './ports/errors.ts';

export interface HttpResult {
  readonly status: number | null;
  readonly body: string;
  readonly error: string | null;
  /** How many `Set-Cookie` headers the answer carried (their values are never kept here). */
  readonly cookiesSet: number;
}

/** How the app keeps the admin's session (config `smoke.auth`). */
export type SmokeAuth = Config['smoke']['auth'];

type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const EXCERPT = 200;

/** A short, flat, credential-free excerpt of a body for messages and evidence. */
export function excerpt(text: string): string {
  const flat = redactCredentials(text.replace(/\s+/g, ' ').trim());
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT - 3)}...` : flat;
}

/** One request with a timeout; network errors are results, not exceptions. */
export async function request(
  url: string,
  init: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    timeoutMs?: number;
  } = {},
  fetchImpl: FetchLike = fetch,
): Promise<HttpResult> {
  try {
    const response = await fetchImpl(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
    return {
      status: response.status,
      body: await response.text(),
      error: null,
      cookiesSet: response.headers.getSetCookie().length,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: null, body: '', error: cause ?? (error as Error).message, cookiesSet: 0 };
  }
}

/** `HTTP 401: {"error":"…"}` or `no response (ECONNREFUSED)`: what a message quotes of an answer. */
export function describeResult(result: HttpResult): string {
  if (result.status === null) return `no response (${result.error})`;
  return `HTTP ${result.status}${result.body ? `: ${excerpt(result.body)}` : ''}`;
}

/** The app's error code from a JSON error body (`{"error":"INVALID_CREDENTIALS"}`), when there is one. */
export function errorCodeOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { error?: unknown; code?: unknown };
    const code = typeof parsed?.error === 'string' ? parsed.error : parsed?.code;
    return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Sleeps `ms`, or less when `signal` is aborted first. */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    // One listener at a time: a long readiness budget must not pile them up on the signal.
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * GETs a path until it answers 200 or the budget runs out.
 * @param signal stops the wait at once (e.g. the app process exited), throwing its reason.
 * @returns the number of attempts and seconds it took.
 */
export async function waitFor200(
  name: string,
  failure: DrillFailureClass,
  url: string,
  path: string,
  budgetSeconds: number,
  now: () => Date,
  signal?: AbortSignal,
): Promise<{ attempts: number; waitedSeconds: number; lastStatus: number }> {
  const started = now().getTime();
  let attempts = 0;
  let last: HttpResult = { status: null, body: '', error: 'not tried', cookiesSet: 0 };
  for (;;) {
    signal?.throwIfAborted();
    attempts += 1;
    last = await request(url);
    if (last.status === 200) {
      return { attempts, waitedSeconds: (now().getTime() - started) / 1000, lastStatus: 200 };
    }
    const elapsed = (now().getTime() - started) / 1000;
    if (elapsed >= budgetSeconds) break;
    await sleep(Math.min(2000, 250 * attempts), signal);
  }
  throw new failure(
    `${name}: GET ${path} did not answer 200 within ${budgetSeconds} s (${attempts} attempts); last: ${describeResult(last)}`,
    { path, status: last.status, attempts, budgetSeconds, body: excerpt(last.body) || last.error },
  );
}

/** What the login step keeps in the drill secret (serialized), never in the drill state. */
type StoredSession = { kind: 'cookie'; jar: SerializedCookieJar } | { kind: 'bearer'; token: string };

/**
 * The admin's session after the one login of a drill: every later check sends it (the cookie jar
 * answers `Set-Cookie` and sends `Cookie`; a token goes as `Authorization: Bearer`).
 */
export class SmokeSession {
  private readonly fetchImpl: FetchLike;

  private constructor(
    private readonly jar: CookieJar | null,
    private readonly token: string | null,
  ) {
    this.fetchImpl = jar ? (makeFetchCookie(fetch, jar) as unknown as FetchLike) : fetch;
  }

  /** A session with an empty cookie jar (cookie mode) or none yet (bearer mode, the token comes from the login answer). */
  static empty(auth: SmokeAuth): SmokeSession {
    return new SmokeSession(auth.kind === 'cookie' ? new CookieJar() : null, null);
  }

  static withToken(token: string): SmokeSession {
    return new SmokeSession(null, token);
  }

  /**
   * Restores what `serialize` produced (read from the drill secret by a later step).
   * @throws `failure` when the text is not a session of the configured kind.
   */
  static restore(text: string, auth: SmokeAuth, failure: DrillFailureClass): SmokeSession {
    const stored = parseJson(text) as Partial<StoredSession> | undefined;
    if (auth.kind === 'cookie' && stored?.kind === 'cookie' && stored.jar) {
      return new SmokeSession(CookieJar.deserializeSync(stored.jar), null);
    }
    if (auth.kind === 'bearer' && stored?.kind === 'bearer' && typeof stored.token === 'string') {
      return SmokeSession.withToken(stored.token);
    }
    throw new failure(
      `the drill secret holds no ${auth.kind} session from the login step (smoke.auth.kind is "${auth.kind}")`,
      { auth: auth.kind },
    );
  }

  /** The session as text for the drill secret: it holds the cookie values or the token. */
  serialize(): string {
    const stored: StoredSession = this.jar
      ? { kind: 'cookie', jar: this.jar.serializeSync() as SerializedCookieJar }
      : { kind: 'bearer', token: this.token ?? '' };
    return JSON.stringify(stored);
  }

  /** Names of the cookies the jar holds for a URL (never their values). */
  cookieNames(url: string): string[] {
    return this.jar ? this.jar.getCookiesSync(url).map((c) => c.key) : [];
  }

  /** What the session is, for a step's detail: cookie names or "a bearer token", never a value. */
  describe(url: string): string {
    if (!this.jar) return 'bearer token';
    const names = this.cookieNames(url);
    return `session cookie${names.length === 1 ? '' : 's'} ${names.join(', ')}`;
  }

  /** One request carrying the session (and keeping any cookie the answer sets). */
  request(
    url: string,
    init: { method?: string; body?: unknown; timeoutMs?: number } = {},
  ): Promise<HttpResult> {
    return request(
      url,
      { ...init, ...(this.token ? { headers: { authorization: `Bearer ${this.token}` } } : {}) },
      this.fetchImpl,
    );
  }
}

/** Why the smoke checks never log in a second time. */
export const NOT_RETRIED = 'not retried: the app locks accounts after 5 failed logins';

/**
 * Logs in as the admin once (a session write), `{ username, password }` as JSON. Never retried: a
 * wrong password repeated would lock the account (BT-CTS locks it for 15 minutes after 5 failures).
 * @returns the session to keep inside the steps (never return it from one) and the role the app answered.
 * @throws AuthWriteFailedError naming the status and the app's error code, or
 *   what a 200 lacked (no session cookie in cookie mode, no token field in bearer mode).
 */
export async function login(
  baseUrl: string,
  path: string,
  auth: SmokeAuth,
  username: string,
  password: string,
): Promise<{ session: SmokeSession; role: string | null }> {
  const session = SmokeSession.empty(auth);
  const result = await session.request(`${baseUrl}${path}`, {
    method: 'POST',
    body: { username, password },
  });
  const fail = (what: string, evidence: Record<string, string | number | null>): never => {
    throw new AuthWriteFailedError(`admin login as "${username}" failed: POST ${path} ${what}`, {
      path,
      status: result.status,
      username,
      auth: auth.kind,
      ...evidence,
    });
  };
  if (result.status !== 200) {
    const code = errorCodeOf(result.body);
    const refused = result.status === 401 || result.status === 403;
    fail(
      `answered ${result.status === null ? describeResult(result) : `HTTP ${result.status}${code ? ` ${code}` : result.body ? `: ${excerpt(result.body)}` : ''}`}${refused ? `; ${NOT_RETRIED}` : ''}`,
      { code, body: excerpt(result.body) || result.error },
    );
  }
  const body = parseJson(result.body);
  const fields =
    body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const role = typeof fields.role === 'string' ? fields.role : null;
  const fieldList = Object.keys(fields).slice(0, 10).join(', ') || 'none';
  if (auth.kind === 'bearer') {
    const token = fields[auth.tokenField];
    if (typeof token !== 'string' || token === '') {
      fail(
        `answered 200 without a "${auth.tokenField}" field (smoke.auth.tokenField; the answer's fields: ${fieldList})${result.cookiesSet > 0 ? '; it set a cookie instead: set smoke.auth to {"kind":"cookie"}' : ''}`,
        { fields: fieldList },
      );
    }
    return { session: SmokeSession.withToken(token as string), role };
  }
  if (session.cookieNames(`${baseUrl}${path}`).length === 0) {
    const hint =
      result.cookiesSet > 0
        ? 'it sent Set-Cookie, but the cookie jar refused it (a Secure cookie over plain HTTP, or another domain)'
        : typeof fields.token === 'string'
          ? 'it answered a "token" field instead: set smoke.auth to {"kind":"bearer","tokenField":"token"}'
          : 'the session was not written';
    fail(`answered 200 without a session cookie (smoke.auth.kind is "cookie"): ${hint}`, {
      fields: fieldList,
      cookiesSet: result.cookiesSet,
    });
  }
  return { session, role };
}

/**
 * GETs a path with the session and expects 200 with a JSON body.
 * @throws `failure` naming the status and the body; a 401 or 403 says the
 *   session was refused and that the check did not log in again.
 */
export async function getJson(
  failure: DrillFailureClass,
  what: string,
  session: SmokeSession,
  baseUrl: string,
  path: string,
): Promise<unknown> {
  const result = await session.request(`${baseUrl}${path}`);
  if (result.status === 200) {
    const body = parseJson(result.body);
    if (body !== undefined) return body;
  }
  const refused =
    result.status === 401 || result.status === 403
      ? `; the session from the login step was refused, not logged in again (one login per drill)`
      : result.status === 200
        ? ' (not JSON)'
        : '';
  throw new failure(`${what} failed: GET ${path} answered ${describeResult(result)}${refused}`, {
    path,
    status: result.status,
    code: errorCodeOf(result.body),
    body: excerpt(result.body) || result.error,
  });
}
