/**
 * A small HTTP app that speaks the BT-CTS contract the smoke checks depend on (design.md, "The real
 * BT-CTS app"), written here from that contract: login with `{username, password}` answering
 * `{id, role, branchCode}` and a `connect.sid` session cookie (or a bearer token in its bearer
 * variant), account search, day state and recovery-evaluate behind the session, the lockout after
 * five failed logins, sessions that expire. It counts what it was sent, so tests can prove one
 * login per drill, and remembers every session value it issued, so tests can scan for them.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface ContractAppOptions {
  /** `cookie` (BT-CTS) or `bearer` (a token field in the login answer, `Authorization: Bearer`). */
  readonly auth?: 'cookie' | 'bearer';
  /** Name of the token field in the bearer variant. */
  readonly tokenField?: string;
  readonly username?: string;
  readonly password?: string;
  readonly role?: 'ADMIN' | 'BRANCH_MANAGER' | 'TELLER' | 'VIEWER';
  /** Accounts loaded today (the search lists those whose name contains the term). */
  readonly accounts?: readonly string[];
  /** How long a session lives after login (BT-CTS: 15 minutes). */
  readonly sessionTtlMs?: number;
  /**
   * `bt-cts`: RPO = backupCompletedAt − restorePointAt, RTO = restoreCompletedAt − backupCompletedAt.
   * `rto-from-restore-point`: an app whose RTO counts from the restore point instead (a different
   * definition, for the disagreement path). `swapped`: an app that subtracts the other way round
   * (restorePointAt − backupCompletedAt), so it refuses every drill with a negative RPO.
   */
  readonly formula?: 'bt-cts' | 'rto-from-restore-point' | 'swapped';
  /** `array` (BT-CTS) or `object`: an app that wraps the search results as `{ accounts: [...] }`. */
  readonly searchShape?: 'array' | 'object';
  /**
   * An app whose session store refuses writes: the login still answers 200 with a cookie (as
   * express-session does, saving after the answer), but no later request is authenticated.
   */
  readonly sessionStoreBroken?: boolean;
}

export interface ContractApp {
  readonly url: string;
  /** Every request, in order: method, path (with query) and whether it carried a session. */
  readonly requests: { method: string; path: string; withSession: boolean }[];
  /** The recovery-evaluate bodies received. */
  readonly evaluations: Record<string, unknown>[];
  /** Every cookie value and token this app handed out: none may appear in anything a drill writes. */
  readonly issued: string[];
  logins(): number;
  /** Ends every session now (as an expiry would). */
  expireSessions(): void;
  close(): Promise<void>;
}

const ISO_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** The app's own recovery arithmetic, re-implemented from its contract: minutes with 2 decimals. */
export function appRecoveryArithmetic(
  body: { backupCompletedAt: string; restorePointAt: string; restoreCompletedAt: string },
  formula: ContractAppOptions['formula'] = 'bt-cts',
): { rpoMinutes: number; rtoMinutes: number } {
  const backup = Date.parse(body.backupCompletedAt);
  const point = Date.parse(body.restorePointAt);
  const done = Date.parse(body.restoreCompletedAt);
  const minutes = (ms: number) => Number((ms / 60_000).toFixed(2));
  return {
    rpoMinutes: minutes(formula === 'swapped' ? point - backup : backup - point),
    rtoMinutes: minutes(done - (formula === 'rto-from-restore-point' ? point : backup)),
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startContractApp(options: ContractAppOptions = {}): Promise<ContractApp> {
  const auth = options.auth ?? 'cookie';
  const tokenField = options.tokenField ?? 'token';
  const username = options.username ?? 'admin';
  const password = options.password ?? 'correct horse';
  const role = options.role ?? 'ADMIN';
  const accounts = options.accounts ?? ['Alpha Ltd', 'Beta and Sons', 'Gamma'];
  const ttl = options.sessionTtlMs ?? 15 * 60_000;
  const sessions = new Map<string, number>();
  const requests: ContractApp['requests'] = [];
  const evaluations: Record<string, unknown>[] = [];
  const issued: string[] = [];
  let failedLogins = 0;

  const sessionOf = (req: IncomingMessage): string | null => {
    if (auth === 'bearer') {
      const header = req.headers.authorization ?? '';
      return header.startsWith('Bearer ') ? header.slice(7) : null;
    }
    const cookie = (req.headers.cookie ?? '').split(/;\s*/).find((c) => c.startsWith('connect.sid='));
    return cookie ? decodeURIComponent(cookie.slice('connect.sid='.length)) : null;
  };
  const authenticated = (req: IncomingMessage): boolean => {
    const id = sessionOf(req);
    const until = id === null ? undefined : sessions.get(id);
    return until !== undefined && until > Date.now();
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    requests.push({
      method: req.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      withSession: sessionOf(req) !== null,
    });
    const text = await readBody(req);
    if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, { status: 'ok' });
    if (req.method === 'POST' && url.pathname === '/api/auth/login') {
      let body: { username?: unknown; password?: unknown } = {};
      try {
        body = JSON.parse(text) as typeof body;
      } catch {
        return send(res, 400, { error: 'INVALID_INPUT' });
      }
      if (typeof body.username !== 'string' || typeof body.password !== 'string')
        return send(res, 400, { error: 'INVALID_INPUT' });
      if (body.username !== username) return send(res, 401, { error: 'INVALID_CREDENTIALS' });
      if (failedLogins >= 5) return send(res, 403, { error: 'LOCKED' });
      if (body.password !== password) {
        failedLogins += 1;
        return send(res, 401, { error: 'INVALID_CREDENTIALS' });
      }
      failedLogins = 0;
      const sid = randomBytes(18).toString('base64url');
      const user = { id: 'u-admin', role, branchCode: null };
      if (auth === 'bearer') {
        issued.push(sid);
        sessions.set(sid, Date.now() + ttl);
        return send(res, 200, { ...user, [tokenField]: sid });
      }
      // Like express-session: `s:<id>.<signature>`, URL-encoded in the cookie.
      const value = `s:${sid}.${randomBytes(24).toString('base64url')}`;
      issued.push(sid, value, encodeURIComponent(value));
      if (!options.sessionStoreBroken) sessions.set(value, Date.now() + ttl);
      return send(res, 200, user, {
        'set-cookie': `connect.sid=${encodeURIComponent(value)}; Path=/; Expires=${new Date(Date.now() + ttl).toUTCString()}; HttpOnly; SameSite=Lax`,
      });
    }
    if (!authenticated(req)) return send(res, 401, { error: 'UNAUTHENTICATED' });
    if (req.method === 'GET' && url.pathname === '/api/auth/me')
      return send(res, 200, { id: 'u-admin', role });
    if (req.method === 'GET' && url.pathname === '/api/accounts/search') {
      if (role === 'VIEWER') return send(res, 403, { error: 'FORBIDDEN' });
      const q = (url.searchParams.get('q') ?? '').trim().toLowerCase();
      if (!q) return send(res, 400, { error: 'MISSING_QUERY' });
      const found = accounts
        .filter((name) => name.toLowerCase().includes(q))
        .map((accountName, i) => ({ id: `acc-${i}`, accountName, currentBalance: '100.00' }));
      return send(res, 200, options.searchShape === 'object' ? { accounts: found } : found);
    }
    if (req.method === 'GET' && url.pathname === '/api/day/current') {
      return send(res, 200, {
        businessDate: new Date().toISOString().slice(0, 10),
        state: 'OPEN',
        branchesLoaded: 1,
        totalAccountsLoaded: accounts.length,
        ledgerRecordCount: 0,
      });
    }
    if (req.method === 'POST' && url.pathname === '/api/admin/ops/recovery-evaluate') {
      if (role !== 'ADMIN') return send(res, 403, { error: 'FORBIDDEN' });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return send(res, 400, { error: 'INVALID_INPUT' });
      }
      evaluations.push(body);
      const times = ['backupCompletedAt', 'restorePointAt', 'restoreCompletedAt'] as const;
      if (!times.every((k) => typeof body[k] === 'string' && ISO_Z.test(body[k] as string)))
        return send(res, 400, { error: 'INVALID_INPUT' });
      const targetRpo = Number(body.targetRpoMinutes ?? 60);
      const targetRto = Number(body.targetRtoMinutes ?? 30);
      if (!(targetRpo > 0) || !(targetRto > 0)) return send(res, 400, { error: 'INVALID_INPUT' });
      const measured = appRecoveryArithmetic(body as never, options.formula);
      if (measured.rpoMinutes < 0) return send(res, 400, { error: 'INVALID_SEQUENCE_RPO_NEGATIVE' });
      if (measured.rtoMinutes < 0) return send(res, 400, { error: 'INVALID_SEQUENCE_RTO_NEGATIVE' });
      const pass = { rpo: measured.rpoMinutes <= targetRpo, rto: measured.rtoMinutes <= targetRto };
      return send(res, 200, {
        measured,
        target: { rpoMinutes: targetRpo, rtoMinutes: targetRto },
        pass,
        overallPass: pass.rpo && pass.rto,
      });
    }
    return send(res, 404, { error: 'NOT_FOUND' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    evaluations,
    issued,
    logins: () => requests.filter((r) => r.method === 'POST' && r.path === '/api/auth/login').length,
    expireSessions: () => sessions.clear(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
