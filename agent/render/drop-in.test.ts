import { describe, expect, it } from 'vitest';
import { parseProxyEnvironmentFile, quoteEnvironmentFileValue, renderProxyDropIn, renderProxyEnvironmentFile, type ProxyEnvironment } from './drop-in.js';
import { thrown } from '../../test/support/thrown.js';

/** The lines of a unit or environment file that are not comments or blank. */
function directives(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '' && !/^\s*[#;]/.test(line));
}

describe('renderProxyDropIn', () => {
  it('holds no value, only a pointer to the root-only environment file', () => {
    expect(directives(renderProxyDropIn('/etc/fleetdock/docker-proxy.env'))).toEqual(['[Service]', 'EnvironmentFile=/etc/fleetdock/docker-proxy.env']);
  });

  it.each([['relative', 'etc/x.env'], ['a space', '/etc/a b.env'], ['a newline', '/etc/x.env\nExecStart=/bin/sh'], ['a specifier', '/etc/%h.env']])('refuses a path with %s', (_what, path) => {
    expect(thrown(() => renderProxyDropIn(path)).code).toBe('VALIDATION');
  });
});

describe('quoteEnvironmentFileValue', () => {
  it.each([
    ['http://proxy:3128', "'http://proxy:3128'"],
    // Between single quotes systemd reads everything literally: no specifiers, no $, no escapes.
    ['http://u:p%40ss@proxy:3128', "'http://u:p%40ss@proxy:3128'"],
    ['%n%h%%', "'%n%h%%'"],
    ['a"b', "'a\"b'"],
    ['a\\b', "'a\\b'"],
    ['a b', "'a b'"],
    ['$HOME ${PATH}', "'$HOME ${PATH}'"],
    ['ü€', "'ü€'"],
  ])('%j → %s', (value, quoted) => {
    expect(quoteEnvironmentFileValue('HTTP_PROXY', value)).toBe(quoted);
  });

  it.each([
    ['a single quote', "a'b"],
    ['a newline', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['a tab', 'a\tb'],
    ['NUL', 'a\u0000b'],
    ['ESC', 'a\u001b[2Jb'],
    ['DEL', 'a\u007fb'],
    ['U+2028 (line separator)', 'a\u2028b'],
    ['U+2029 (paragraph separator)', 'a\u2029b'],
    ['U+0085 (next line, C1)', 'a\u0085b'],
  ])('refuses %s with VALIDATION naming the variable', (what, value) => {
    const error = thrown(() => quoteEnvironmentFileValue('NO_PROXY', value));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('NO_PROXY');
    expect(error.message).not.toMatch(/[\n\r]/);
    if (what === 'a newline') expect(error.message).toContain('a newline');
  });
});

describe('renderProxyEnvironmentFile', () => {
  it.each([
    ['no variables', {}],
    ['only empty strings', { HTTP_PROXY: '', HTTPS_PROXY: '', NO_PROXY: '' }],
    ['undefined values', { HTTP_PROXY: undefined }],
  ])('is null when there is no proxy (%s): the file should not exist', (_what, env) => {
    expect(renderProxyEnvironmentFile(env as ProxyEnvironment)).toBeNull();
  });

  it('writes one assignment per line, in a fixed order, after a comment', () => {
    const text = renderProxyEnvironmentFile({ NO_PROXY: 'localhost,.corp', HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128' })!;
    expect(directives(text)).toEqual(["HTTP_PROXY='http://proxy:3128'", "HTTPS_PROXY='http://proxy:3128'", "NO_PROXY='localhost,.corp'"]);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toMatch(/^#.*fleetdock/);
  });

  it('is the same text for the same proxy', () => {
    const env = { HTTP_PROXY: 'http://u:p%40ss@proxy:3128', NO_PROXY: 'localhost' };
    expect(renderProxyEnvironmentFile({ ...env })).toBe(renderProxyEnvironmentFile({ ...env }));
  });

  it.each([
    ['a newline with a new variable', { HTTP_PROXY: 'http://p:3128\nLD_PRELOAD=/tmp/x.so' }],
    ['a quote that closes the value', { NO_PROXY: "localhost' LD_PRELOAD='/tmp/x.so" }],
    ['a carriage return', { HTTPS_PROXY: 'http://p:3128\rUser=root' }],
    ['U+2028', { HTTP_PROXY: 'http://p:3128\u2028User=root' }],
  ])('refuses a value with %s (VALIDATION), writing nothing', (_what, env) => {
    expect(thrown(() => renderProxyEnvironmentFile(env)).code).toBe('VALIDATION');
  });

  const awkward: [string, ProxyEnvironment][] = [
    ['a percent-encoded password', { HTTP_PROXY: 'http://user:p%40ss@proxy:3128', HTTPS_PROXY: 'http://user:p%40ss@proxy:3128' }],
    ['specifier look-alikes', { HTTP_PROXY: 'http://u:%n%h%%@proxy:3128' }],
    ['a double quote', { HTTP_PROXY: 'http://p:3128" "HTTPS_PROXY=http://evil:1', NO_PROXY: 'localhost' }],
    ['a trailing backslash', { HTTP_PROXY: 'http://p:3128\\', HTTPS_PROXY: 'x\\" "NO_PROXY=*' }],
    ['backslash escapes that systemd would read in double quotes', { NO_PROXY: 'a\\nb,c\\x41,\\\\' }],
    ['a space in no-proxy', { HTTP_PROXY: 'http://p:3128', NO_PROXY: 'localhost, .corp.example' }],
    ['dollar signs', { HTTP_PROXY: 'http://u:$HOME${x}@p:3128' }],
    ['an equals sign in a value', { HTTP_PROXY: 'http://u:a=b@p:3128' }],
    ['a semicolon and a hash', { NO_PROXY: 'a;b#c' }],
    ['unicode', { NO_PROXY: 'bücher.example,€' }],
  ];

  it.each(awkward)('round-trips %s: parse(render(env)) gives the same values', (_what, env) => {
    expect(parseProxyEnvironmentFile(renderProxyEnvironmentFile(env))).toEqual(env);
  });

  it.each(awkward)('renders one assignment line per variable for %s', (_what, env) => {
    const lines = directives(renderProxyEnvironmentFile(env)!);
    expect(lines).toHaveLength(Object.keys(env).length);
    for (const line of lines) expect(line).toMatch(/^(HTTP_PROXY|HTTPS_PROXY|NO_PROXY)='[^'\n]*'$/);
  });
});

describe('parseProxyEnvironmentFile', () => {
  it('is null for a missing file', () => {
    expect(parseProxyEnvironmentFile(null)).toBeNull();
  });

  it.each([
    ['the form fleetdock writes', "# c\nHTTP_PROXY='http://proxy:3128'\nNO_PROXY='localhost'\n", { HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost' }],
    ['unquoted values', 'HTTP_PROXY=http://proxy:3128\nNO_PROXY=localhost\n', { HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost' }],
    ['double-quoted values with escapes', 'HTTPS_PROXY="http://p:3128\\"x"\n', { HTTPS_PROXY: 'http://p:3128"x' }],
    ['lower-case names', "http_proxy='http://p:3128'\n", { HTTP_PROXY: 'http://p:3128' }],
    ['other variables beside the proxy', "FOO=bar\nHTTP_PROXY='http://p:3128'\n", { HTTP_PROXY: 'http://p:3128' }],
    ['comments', "#HTTP_PROXY='http://old:1'\n;NO_PROXY=x\n", {}],
  ])('reads %s', (_what, text, env) => {
    expect(parseProxyEnvironmentFile(text)).toEqual(env);
  });
});
