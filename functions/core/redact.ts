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

/** Replaces credentials in connection strings, bearer tokens and `password=`-style pairs with `***`. */
export function redactCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1:***@').replace(BEARER, '$1***').replace(KEY_VALUE, '$1$2***');
}
