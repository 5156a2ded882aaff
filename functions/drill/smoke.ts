/**
 * The runbook's smoke checks over HTTP (restore procedure steps 5 and 6). Each check returns the
 * evidence an on-call engineer needs (URL path, status, a short body excerpt) and throws a named
 * error the state machine maps to its escalation class.
 */
import { redactCredentials } from '../core/redact.ts';

export class SmokeCheckError extends Error {
  readonly evidence: Record<string, string | number | null>;

  constructor(name: string, message: string, evidence: Record<string, string | number | null>) {
    super(message);
    this.name = name;
    this.evidence = evidence;
  }
}

export interface HttpResult {
  readonly status: number | null;
  readonly body: string;
  readonly error: string | null;
}

const EXCERPT = 200;

function excerpt(text: string): string {
  const flat = redactCredentials(text.replace(/\s+/g, ' ').trim());
  return flat.length > EXCERPT ? `${flat.slice(0, EXCERPT - 3)}...` : flat;
}

/** One request with a timeout; network errors are results, not exceptions. */
export async function request(
  url: string,
  init: { method?: string; body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  try {
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: {
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
    });
    return { status: response.status, body: await response.text(), error: null };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { status: null, body: '', error: cause ?? (error as Error).message };
  }
}

function describe(result: HttpResult): string {
  if (result.status === null) return `no response (${result.error})`;
  return `HTTP ${result.status}${result.body ? `: ${excerpt(result.body)}` : ''}`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * GETs a path until it answers 200 or the budget runs out.
 * @returns the number of attempts and seconds it took.
 */
export async function waitFor200(
  name: string,
  errorName: string,
  url: string,
  path: string,
  budgetSeconds: number,
  now: () => Date,
): Promise<{ attempts: number; waitedSeconds: number; lastStatus: number }> {
  const started = now().getTime();
  let attempts = 0;
  let last: HttpResult = { status: null, body: '', error: 'not tried' };
  for (;;) {
    attempts += 1;
    last = await request(url);
    if (last.status === 200) {
      return { attempts, waitedSeconds: (now().getTime() - started) / 1000, lastStatus: 200 };
    }
    const elapsed = (now().getTime() - started) / 1000;
    if (elapsed >= budgetSeconds) break;
    await sleep(Math.min(2000, 250 * attempts));
  }
  throw new SmokeCheckError(
    errorName,
    `${name}: GET ${path} did not answer 200 within ${budgetSeconds} s (${attempts} attempts); last: ${describe(last)}`,
    { path, status: last.status, attempts, budgetSeconds, body: excerpt(last.body) || last.error },
  );
}

/** Logs in as the admin (a session write). Returns the session token (keep it inside the step). */
export async function login(
  baseUrl: string,
  path: string,
  username: string,
  password: string,
): Promise<string> {
  const result = await request(`${baseUrl}${path}`, { method: 'POST', body: { username, password } });
  let token: unknown;
  try {
    token = (JSON.parse(result.body) as { token?: unknown }).token;
  } catch {
    token = undefined;
  }
  if (result.status !== 200 || typeof token !== 'string' || token === '') {
    throw new SmokeCheckError(
      'AuthWriteFailedError',
      `admin login as "${username}" failed: POST ${path} answered ${describe({ ...result, body: result.status === 200 ? 'no session token in the response' : result.body })}`,
      {
        path,
        status: result.status,
        username,
        body: result.status === 200 ? 'no token' : excerpt(result.body),
      },
    );
  }
  return token;
}

/** GETs a path with a session and expects 200 with a JSON body. */
export async function getJson(
  errorName: string,
  what: string,
  baseUrl: string,
  path: string,
  token: string,
): Promise<unknown> {
  const result = await request(`${baseUrl}${path}`, { token });
  if (result.status === 200) {
    try {
      return JSON.parse(result.body) as unknown;
    } catch {
      // falls through to the error below
    }
  }
  throw new SmokeCheckError(errorName, `${what} failed: GET ${path} answered ${describe(result)}`, {
    path,
    status: result.status,
    body: excerpt(result.body) || result.error,
  });
}
