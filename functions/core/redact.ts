/**
 * Last line of defence against credentials in escalations, reports and logs: a step's error detail
 * may quote a driver message that holds a connection string. Nothing this project writes for
 * people may contain a password, so every text that leaves the core passes through here.
 */

// scheme://user:password@host  ->  scheme://user:***@host
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):([^\s@/]*)@/gi;
// password=..., "password": "...", PGPASSWORD=..., secret: ...
const KEY_VALUE = /((?:pg)?pass(?:word|wd)?|secret|token|api[_-]?key)("?\s*[:=]\s*"?)([^\s",;&}]+)/gi;

// Authorization: Bearer <session token>
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*/g;

// Cookie: a=1; b=2   Set-Cookie: connect.sid=s%3A…; Path=/   (the whole header value)
const COOKIE_HEADER = /\b((?:set-)?cookie\s*:\s*)[^\r\n]+/gi;
// A session cookie pair anywhere: connect.sid=…, JSESSIONID=…, PHPSESSID=…, session=…
const SESSION_COOKIE =
  /\b((?:[A-Za-z0-9-]+[._])*(?:sid|session|sessionid|session_id)|[A-Za-z]*sess(?:ion)?id)=(?!\*\*\*)[^\s;,"&]+/gi;

/**
 * Replaces credentials in connection strings, bearer tokens, cookie headers, session cookies and
 * `password=`-style pairs with `***`.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(URL_CREDENTIALS, '$1:***@')
    .replace(BEARER, '$1***')
    .replace(COOKIE_HEADER, '$1***')
    .replace(SESSION_COOKIE, '$1=***')
    .replace(KEY_VALUE, '$1$2***');
}
