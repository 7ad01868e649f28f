import { describe, expect, it } from 'vitest';
import {
  findForbiddenCharacter,
  parseInsecureRegistry,
  parseMirrorUrl,
  parseNoProxyEntry,
  parseProxyUrl,
  parseUserName,
  quoteForMessage,
  redactUrl,
  type ParseResult,
} from './values.js';

function valueOf(result: ParseResult): string {
  if (!result.ok) throw new Error(`expected ok, got: ${result.message}`);
  return result.value;
}

function messageOf(result: ParseResult): string {
  if (result.ok) throw new Error(`expected a refusal, got value ${JSON.stringify(result.value)}`);
  return result.message;
}

describe('parseMirrorUrl', () => {
  it.each([
    ['http://mirror.internal:5000', 'http://mirror.internal:5000'],
    ['https://mirror.example.com', 'https://mirror.example.com'],
    ['https://Mirror.Example.COM', 'https://mirror.example.com'],
    ['HTTP://m:5000/', 'http://m:5000'],
    ['http://192.168.9.8:5000', 'http://192.168.9.8:5000'],
    ['http://[::1]:5000', 'http://[::1]:5000'],
    ['http://m:05000', 'http://m:5000'],
  ])('accepts %j as %j', (raw, normalised) => {
    expect(valueOf(parseMirrorUrl(raw))).toBe(normalised);
  });

  it.each([
    ['', 'empty'],
    ['ftp://m', 'not an http(s) URL'],
    ['mirror:5000', 'mirror:5000'],
    ['http:m', 'http://'],
    ['http://user:pw@m', 'credentials'],
    ['http://m:5000/v2', 'path'],
    ['http://m:5000?x=1', 'query'],
    ['http://m:5000#top', 'fragment'],
    ['http://m :5000', 'a space'],
    ['http://m:5000\n', 'a newline'],
    ['http://m:5000\r', 'a carriage return'],
    ['http://m"', 'a double quote'],
    ["http://m'", 'a single quote'],
    ['http://m\\x', 'a backslash'],
    ['http://m\u2028', 'U+2028'],
    ['http://m%41', 'percent'],
    ['http://a_b:5000', 'host name'],
    ['http://-m:5000', 'host name'],
    ['http://m:99999', 'not a URL'],
  ])('refuses %j, saying %j', (raw, says) => {
    const message = messageOf(parseMirrorUrl(raw));
    expect(message).toContain('registry mirror');
    expect(message).toContain(says);
  });

  it('names the bad value in the message', () => {
    expect(messageOf(parseMirrorUrl('ftp://m'))).toContain('"ftp://m"');
  });

  it('refuses a URL longer than 2048 characters', () => {
    expect(messageOf(parseMirrorUrl(`http://${'a'.repeat(2050)}`))).toContain('2048');
  });

  it('does not show the password of a mirror URL that carries one', () => {
    const message = messageOf(parseMirrorUrl('http://user:hunter2@m:5000'));
    expect(message).not.toContain('hunter2');
  });

  it('keeps a message on one line when the value holds a newline', () => {
    const message = messageOf(parseMirrorUrl('http://m:5000\nExecStart=/bin/sh'));
    expect(message).not.toMatch(/[\n\r]/);
  });

  // WHATWG URL parsing reads `10.0.5` as the IPv4 address 10.0.0.5 and `0x7f.1` as 127.0.0.1. A typo
  // (a missing octet) must not silently become another host's address in daemon.json.
  it.each(['http://10.0.5:5000', 'http://0x7f.1:5000', 'http://2130706433:5000'])('refuses the shorthand IPv4 %j instead of rewriting it to another address', (raw) => {
    expect(parseMirrorUrl(raw).ok).toBe(false);
  });

  it('refuses port 0, like the insecure-registry parser does', () => {
    expect(parseMirrorUrl('http://m:0').ok).toBe(false);
  });
});

describe('parseProxyUrl', () => {
  it.each([
    ['http://proxy.corp:3128', 'http://proxy.corp:3128'],
    ['https://proxy.corp', 'https://proxy.corp'],
    ['HTTP://PROXY:3128/', 'http://proxy:3128'],
    ['http://user:secret@proxy:3128', 'http://user:secret@proxy:3128'],
    ['http://user:p%40ss@proxy:3128', 'http://user:p%40ss@proxy:3128'],
    // an unencoded `@` in the password is encoded, so the host stays the part after the last `@`
    ['http://user:p@ss@proxy:3128', 'http://user:p%40ss@proxy:3128'],
    ['http://token@proxy:3128', 'http://token@proxy:3128'],
  ])('accepts %j as %j', (raw, normalised) => {
    expect(valueOf(parseProxyUrl(raw))).toBe(normalised);
  });

  it.each([
    ['', 'empty'],
    ['socks5://proxy:1080', 'not an http(s) URL'],
    ['proxy:3128', 'proxy:3128'],
    ['http://proxy:3128/path', 'path'],
    ['http://proxy:3128?q', 'query'],
    ['http://u:p%zz@proxy:3128', "'%'"],
    ['http://u:100%@proxy:3128', "'%'"],
    ['http://proxy:3128 ', 'a space'],
    ['http://proxy:3128\n', 'a newline'],
    ['http://pro"xy:3128', 'a double quote'],
  ])('refuses %j, saying %j', (raw, says) => {
    const message = messageOf(parseProxyUrl(raw));
    expect(message).toContain('proxy');
    expect(message).toContain(says);
  });

  // Messages are logged and sent over the API; the password of a refused proxy URL must not be in them.
  it.each([
    ['a path', 'http://user:Sup3rSecret@proxy:3128/path', 'Sup3rSecret'],
    ['a space', 'http://user:Sup3rSecret@proxy :3128', 'Sup3rSecret'],
    ['a bad escape', 'http://user:Sup3rSecret%zz@proxy:3128', 'Sup3rSecret'],
    ['an unencoded @ in the password', 'http://user:Sup3r@Secret@proxy:3128/path', 'Secret'],
    ['an unencoded / in the password', 'http://user:Sup3r/Secret@proxy:3128', 'Sup3r'],
    ['a space in the password', 'http://user:Sup3r Secret@proxy:3128', 'Sup3r'],
    ['a newline in the password', 'http://user:Sup3rSecret\n@proxy:3128', 'Sup3rSecret'],
    ['a password longer than the message shows', `http://user:${'S'.repeat(150)}@proxy:3128/path`, 'SSSSSSSS'],
  ])('does not show the password of a URL refused for %s', (_why, raw, secret) => {
    const message = messageOf(parseProxyUrl(raw));
    expect(message).not.toContain(secret);
  });
});

describe('parseInsecureRegistry', () => {
  it.each([
    ['registry.test:5000', 'registry.test:5000'],
    ['Registry.Test:05000', 'registry.test:5000'],
    ['192.168.9.8:80', '192.168.9.8:80'],
    ['192.168.9.8', '192.168.9.8'],
    ['localhost', 'localhost'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.0.0/016', '192.168.0.0/16'],
    ['[fd00::1]:5000', '[fd00::1]:5000'],
    ['[FD00::1]', '[fd00::1]'],
    ['FD00::/8', 'fd00::/8'],
  ])('accepts %j as %j', (raw, normalised) => {
    expect(valueOf(parseInsecureRegistry(raw))).toBe(normalised);
  });

  it.each([
    ['', 'empty'],
    ['http://registry:5000', 'scheme'],
    ['registry:0', 'port'],
    ['registry:70000', 'port'],
    ['registry:abc', 'port'],
    ['10.0.0.0/33', 'CIDR'],
    ['300.1.1.1/8', 'CIDR'],
    ['registry/8', 'CIDR'],
    ['fd00::/129', 'CIDR'],
    ['[zz::1]:5000', 'IPv6'],
    ['1.2.3', 'host[:port]'],
    ['reg istry', 'a space'],
    ['reg\tistry', 'a tab'],
  ])('refuses %j, saying %j', (raw, says) => {
    const message = messageOf(parseInsecureRegistry(raw));
    expect(message).toContain('insecure registry');
    expect(message).toContain(says);
    if (raw.length > 0 && raw.length < 100 && !/\s/.test(raw)) expect(message).toContain(raw);
  });

  it('refuses a value longer than 300 characters', () => {
    expect(messageOf(parseInsecureRegistry('a'.repeat(301)))).toContain('300');
  });

  // dockerd stores a CIDR as net.ParseCIDR's network and /info reports it that way
  // (InsecureRegistryCIDRs). A value that dockerd reports differently from how fleetdock wrote it
  // shows as drift forever, so an accepted CIDR must be spelled the way dockerd reports it.
  it.each([
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['192.168.9.8/24', '192.168.9.0/24'],
    ['fd12::/8', 'fd00::/8'],
    ['fd00:0:0::/16', 'fd00::/16'],
  ])('does not accept %j in a spelling dockerd never reports (dockerd reports %j)', (raw, reported) => {
    const result = parseInsecureRegistry(raw);
    if (result.ok) expect(result.value).toBe(reported);
  });
});

describe('parseNoProxyEntry', () => {
  it.each([
    ['*', '*'],
    ['localhost', 'localhost'],
    ['registry.test:5000', 'registry.test:5000'],
    ['.corp.example', '.corp.example'],
    ['*.corp.example', '*.corp.example'],
    ['.Corp.Example', '.corp.example'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['192.168.1.5', '192.168.1.5'],
    ['[fd00::5]:5000', '[fd00::5]:5000'],
    // Go's httpproxy reads a bare IPv6 address as an IP (net.ParseIP); the doc comment promises IPs.
    ['fd00::5', 'fd00::5'],
  ])('accepts %j as %j', (raw, normalised) => {
    expect(valueOf(parseNoProxyEntry(raw))).toBe(normalised);
  });

  it.each([
    ['', 'empty'],
    ['a,b', 'comma'],
    ['a b', 'a space'],
    ['http://corp.example', 'corp.example'],
    ['.', '"."'],
    ['*.', '"*."'],
    ['**', '"**"'],
    ['10.0.0.0/40', 'CIDR'],
    ['host\n', 'a newline'],
  ])('refuses %j, saying %j', (raw, says) => {
    const message = messageOf(parseNoProxyEntry(raw));
    expect(message).toContain('no-proxy entry');
    expect(message).toContain(says);
  });
});

describe('parseUserName', () => {
  it.each(['ci', 'build_user', '_svc', 'jenkins-agent', 'a'.repeat(32)])('accepts %j', (raw) => {
    expect(valueOf(parseUserName(raw))).toBe(raw);
  });

  it.each(['', 'Root', '1build', '-x', 'a b', '../etc', 'ci/..', 'a'.repeat(33), 'ci\n'])('refuses %j, naming it', (raw) => {
    const message = messageOf(parseUserName(raw));
    expect(message).toContain('user name');
    expect(message).toContain(JSON.stringify(raw).slice(0, 20));
  });
});

describe('redactUrl', () => {
  it.each([
    ['http://user:secret@proxy:3128', 'http://xxxxx:xxxxx@proxy:3128'],
    ['https://token@proxy', 'https://xxxxx:xxxxx@proxy'],
    ['http://user:p%40ss@proxy:3128', 'http://xxxxx:xxxxx@proxy:3128'],
    ['http://xxxxx:xxxxx@proxy:3128', 'http://xxxxx:xxxxx@proxy:3128'],
    ['http://proxy:3128', 'http://proxy:3128'],
    ['http://proxy:3128/a@b', 'http://proxy:3128/a@b'],
  ])('%j becomes %j', (raw, redacted) => {
    expect(redactUrl(raw)).toBe(redacted);
  });
});

describe('findForbiddenCharacter', () => {
  it.each([
    ['http://m:5000', null],
    ['a b', 'a space'],
    ['a\nb', 'a newline'],
    ['a\rb', 'a carriage return'],
    ['a\tb', 'a tab'],
    ['a"b', 'a double quote'],
    ["a'b", 'a single quote'],
    ['a`b', 'a backquote'],
    ['a\\b', 'a backslash'],
    ['a\u0000b', 'U+0000'],
    ['a\u001bb', 'U+001B'],
    ['a\u007fb', 'U+007F'],
    ['a\u0085b', 'U+0085'],
    ['a\u00a0b', 'U+00A0'],
    ['a\u2028b', 'U+2028'],
    ['a\u2029b', 'U+2029'],
    ['a\ufeffb', 'U+FEFF'],
  ])('%j → %j', (text, described) => {
    const found = findForbiddenCharacter(text);
    if (described === null) expect(found).toBeNull();
    else expect(found).toContain(described);
  });
});

describe('quoteForMessage', () => {
  it('shows control characters escaped, so a value cannot break a log line', () => {
    const shown = quoteForMessage('a\nb\rc\u001b[31md');
    expect(shown).not.toMatch(/[\n\r\u001b]/);
    expect(shown.startsWith('"')).toBe(true);
  });

  it('cuts a long value short', () => {
    const shown = quoteForMessage('x'.repeat(500));
    expect(shown.length).toBeLessThan(130);
    expect(shown).toContain('…');
  });

  it('masks a password', () => {
    expect(quoteForMessage('http://u:hunter2@p:3128')).toBe('"http://u:xxxxx@p:3128"');
  });
});
