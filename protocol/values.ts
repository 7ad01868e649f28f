/**
 * Parsers for the single values a group's settings hold: registry-mirror URLs, proxy URLs, insecure
 * registries and no-proxy entries. Each takes untrusted text and returns the normalised value or a
 * message naming what is wrong. Pure; the schemas in settings.ts call them.
 *
 * The rules are strict on purpose: these values end up in daemon.json, in a systemd unit file and in
 * dockerd's environment, so nothing that could start a new line, close a quote or escape anything gets in.
 */

export type ParseResult = { ok: true; value: string } | { ok: false; message: string };

const ok = (value: string): ParseResult => ({ ok: true, value });
const fail = (message: string): ParseResult => ({ ok: false, message });

/** Characters never allowed in any value: whitespace, quotes, backslash, control and separator characters. */
const FORBIDDEN = /[\s"'`\\\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff]/u;

/** Describes the first forbidden character of `text`, or null when there is none. */
export function findForbiddenCharacter(text: string): string | null {
  const m = FORBIDDEN.exec(text);
  if (!m) return null;
  const ch = m[0];
  const names: Record<string, string> = { ' ': 'a space', '\n': 'a newline', '\r': 'a carriage return', '\t': 'a tab', '"': 'a double quote', "'": 'a single quote', '`': 'a backquote', '\\': 'a backslash' };
  const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  return names[ch] ?? `the character U+${code}`;
}

/** Shows a value in a message without letting it break the message (and without a password). */
export function quoteForMessage(text: string): string {
  // Cut first: the masking regex is quadratic on text like `//a://a://a:...`, and no value it shows is
  // longer than 2048 characters (longer ones are refused without being quoted).
  const masked = text.slice(0, 2048).replace(/\/\/([^/:@\s]*):[\s\S]*@/, '//$1:xxxxx@');
  return JSON.stringify(masked.length > 120 ? `${masked.slice(0, 120)}…` : masked);
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `host` is a DNS name (labels of letters, digits and hyphens) or an IPv4 address. */
export function isHostName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  if (IPV4.test(host)) return true;
  if (/^\d+(\.\d+)*$/.test(host)) return false; // looks like a broken IPv4
  return host.toLowerCase().split('.').every((label) => HOST_LABEL.test(label));
}

function isIpv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return false;
  try {
    return new URL(`http://[${text}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

/** The network of `addr/bits`, spelled as Go's net.IPNet.String() (dockerd's /info) spells it. */
function networkOf(addr: string, bits: number, max: number): string {
  if (max === 32) {
    const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const masked = bits === 0 ? 0 : (n - (n % 2 ** (32 - bits)));
    return `${[24, 16, 8, 0].map((s) => Math.floor(masked / 2 ** s) % 256).join('.')}/${bits}`;
  }
  const canon = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
  const [head, tail] = canon.includes('::') ? canon.split('::') : [canon, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const masked = groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const v = parseInt(g, 16);
    return (keep === 0 ? 0 : v & (0xffff << (16 - keep)) & 0xffff).toString(16);
  });
  return `${new URL(`http://[${masked.join(':')}]/`).hostname.slice(1, -1)}/${bits}`;
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : null;
}

function parseHttpUrl(raw: string, what: string, allowCredentials: boolean): ParseResult {
  if (typeof raw !== 'string' || raw.length === 0) return fail(`${what} is empty`);
  if (raw.length > 2048) return fail(`${what} is longer than 2048 characters`);
  const bad = findForbiddenCharacter(raw);
  if (bad) return fail(`${what} ${quoteForMessage(raw)} contains ${bad}`);
  if (raw.includes('%') && !allowCredentials) return fail(`${what} ${quoteForMessage(raw)} contains a percent sign`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail(`${what} ${quoteForMessage(raw)} is not a URL (expected http://host[:port] or https://host[:port])`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(`${what} ${quoteForMessage(raw)} is not an http(s) URL`);
  }
  if (!/^https?:\/\//i.test(raw)) return fail(`${what} ${quoteForMessage(raw)} must start with http:// or https://`);
  if (!allowCredentials && (url.username || url.password)) {
    return fail(`${what} ${quoteForMessage(raw)} must not carry credentials`);
  }
  if (url.search || raw.includes('?')) return fail(`${what} ${quoteForMessage(raw)} must not have a query`);
  if (url.hash || raw.includes('#')) return fail(`${what} ${quoteForMessage(raw)} must not have a fragment`);
  if (url.pathname !== '/' && url.pathname !== '') return fail(`${what} ${quoteForMessage(raw)} must not have a path (dockerd refuses one)`);
  const hostname = url.hostname.startsWith('[') ? url.hostname : url.hostname.toLowerCase();
  if (!hostname.startsWith('[') && !isHostName(hostname)) return fail(`${what} ${quoteForMessage(raw)} has an invalid host name`);
  // WHATWG URL rewrites `10.0.5`, `0x7f.1` or `2130706433` to a dotted IPv4 address: refuse what was not written that way.
  if (IPV4.test(hostname) && !new RegExp(`[/@]${hostname.replace(/\./g, '\\.')}(?::\\d|/|$)`).test(raw)) {
    return fail(`${what} ${quoteForMessage(raw)} has a host that is not a full dotted IPv4 address`);
  }
  if (url.port === '0') return fail(`${what} ${quoteForMessage(raw)} has an invalid port`);
  let userinfo = '';
  if (url.username || url.password) {
    // Percent-encoded characters are fine in credentials, but `%` must stay an escape, never raw text:
    // systemd and Go both read it, and a lone `%` is how a specifier gets injected.
    if (/%(?![0-9A-Fa-f]{2})/.test(url.username + url.password)) {
      return fail(`${what} ${quoteForMessage(raw)} has a '%' in its credentials that is not a %XX escape`);
    }
    userinfo = `${url.username}${url.password ? `:${url.password}` : ''}@`;
  }
  return ok(`${url.protocol}//${userinfo}${hostname}${url.port ? `:${url.port}` : ''}`);
}

/** A registry mirror: `http(s)://host[:port]`, no credentials, path, query or fragment. */
export function parseMirrorUrl(raw: string): ParseResult {
  return parseHttpUrl(raw, 'registry mirror', false);
}

/** A proxy URL: `http(s)://[user:password@]host[:port]`. */
export function parseProxyUrl(raw: string): ParseResult {
  return parseHttpUrl(raw, 'proxy', true);
}

/** An insecure registry: `host[:port]` (name, IPv4 or `[IPv6]`) or a CIDR (`10.0.0.0/8`, `fd00::/8`). */
export function parseInsecureRegistry(raw: string): ParseResult {
  const what = 'insecure registry';
  if (typeof raw !== 'string' || raw.length === 0) return fail(`${what} is empty`);
  if (raw.length > 300) return fail(`${what} is longer than 300 characters`);
  const bad = findForbiddenCharacter(raw);
  if (bad) return fail(`${what} ${quoteForMessage(raw)} contains ${bad}`);
  if (/^[a-z]+:\/\//i.test(raw)) return fail(`${what} ${quoteForMessage(raw)} must be host[:port] or a CIDR, without a scheme`);
  const slash = raw.indexOf('/');
  if (slash !== -1) {
    const addr = raw.slice(0, slash);
    const bits = raw.slice(slash + 1);
    const max = IPV4.test(addr) ? 32 : isIpv6(addr) ? 128 : -1;
    if (max < 0 || !/^\d{1,3}$/.test(bits) || Number(bits) > max) {
      return fail(`${what} ${quoteForMessage(raw)} is not a valid CIDR (expected e.g. 10.0.0.0/8)`);
    }
    return ok(networkOf(addr, Number(bits), max));
  }
  let host = raw;
  let port = '';
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(raw);
  if (v6) {
    if (!isIpv6(v6[1]!)) return fail(`${what} ${quoteForMessage(raw)} has an invalid IPv6 address`);
    host = `[${v6[1]!.toLowerCase()}]`;
    port = v6[2] ?? '';
    if (v6[2] !== undefined && parsePort(port) === null) return fail(`${what} ${quoteForMessage(raw)} has an invalid port`);
  } else {
    const colon = raw.lastIndexOf(':');
    if (colon !== -1) {
      host = raw.slice(0, colon);
      port = raw.slice(colon + 1);
      if (parsePort(port) === null) return fail(`${what} ${quoteForMessage(raw)} has an invalid port`);
    }
    if (!isHostName(host)) return fail(`${what} ${quoteForMessage(raw)} is not host[:port] or a CIDR`);
    host = host.toLowerCase();
  }
  return ok(port ? `${host}:${Number(port)}` : host);
}

/**
 * A no-proxy entry as Go's http proxy code reads it: `*`, a host name, `.domain`, `*.domain`,
 * an IP, a CIDR, each optionally with `:port` (not for CIDRs).
 */
export function parseNoProxyEntry(raw: string): ParseResult {
  const what = 'no-proxy entry';
  if (typeof raw !== 'string' || raw.length === 0) return fail(`${what} is empty`);
  if (raw.length > 300) return fail(`${what} is longer than 300 characters`);
  const bad = findForbiddenCharacter(raw);
  if (bad) return fail(`${what} ${quoteForMessage(raw)} contains ${bad}`);
  if (raw.includes(',')) return fail(`${what} ${quoteForMessage(raw)} contains a comma (give entries separately)`);
  if (raw === '*') return ok(raw);
  if (raw.includes('/')) {
    const cidr = parseInsecureRegistry(raw);
    return cidr.ok ? cidr : fail(`${what} ${quoteForMessage(raw)} is not a valid CIDR`);
  }
  let rest = raw;
  let prefix = '';
  if (rest.startsWith('*.')) {
    prefix = '*.';
    rest = rest.slice(2);
  } else if (rest.startsWith('.')) {
    prefix = '.';
    rest = rest.slice(1);
  }
  if (!prefix && isIpv6(rest)) return ok(new URL(`http://[${rest}]/`).hostname.slice(1, -1));
  const hostPort = parseInsecureRegistry(rest);
  if (!hostPort.ok) return fail(`${what} ${quoteForMessage(raw)} is not a host, .domain, IP or CIDR`);
  return ok(prefix + hostPort.value);
}

/** A local user name whose ~/.docker/config.json gets the client proxy. */
export function parseUserName(raw: string): ParseResult {
  if (typeof raw !== 'string' || !/^[a-z_][a-z0-9_-]{0,31}$/.test(raw)) {
    return fail(`user name ${quoteForMessage(String(raw))} is not a valid local user name`);
  }
  return ok(raw);
}

/** Replaces the password (and user) of a URL with `xxxxx`, the way dockerd's /info masks them. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1xxxxx:xxxxx@');
}
