import { describe, expect, it } from 'vitest';
import { escapeSystemdEnvironmentWord, parseProxyDropIn, renderProxyDropIn, type ProxyEnvironment } from './drop-in.js';
import { thrown } from '../../test/support/thrown.js';

/** The lines of a unit file that are not comments or blank. */
function directives(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '' && !/^\s*[#;]/.test(line));
}

describe('escapeSystemdEnvironmentWord', () => {
  it.each([
    ['HTTP_PROXY=http://proxy:3128', '"HTTP_PROXY=http://proxy:3128"'],
    // `%` starts a systemd specifier (%n, %h, ...): doubled
    ['HTTP_PROXY=http://u:p%40ss@proxy:3128', '"HTTP_PROXY=http://u:p%%40ss@proxy:3128"'],
    ['X=%n%h%%', '"X=%%n%%h%%%%"'],
    ['X=a"b', '"X=a\\"b"'],
    ['X=a\\b', '"X=a\\\\b"'],
    ['X=a\\"b', '"X=a\\\\\\"b"'],
    ['X=a\\nb', '"X=a\\\\nb"'],
    ['NO_PROXY=a b', '"NO_PROXY=a b"'],
    ['X=$HOME ${PATH}', '"X=$HOME ${PATH}"'],
    ['X=ü€', '"X=ü€"'],
  ])('%j → %s', (assignment, word) => {
    expect(escapeSystemdEnvironmentWord(assignment)).toBe(word);
  });

  it.each([
    ['a newline', 'X=a\nb'],
    ['a carriage return', 'X=a\rb'],
    ['a tab', 'X=a\tb'],
    ['NUL', 'X=a\u0000b'],
    ['ESC', 'X=a\u001b[2Jb'],
    ['DEL', 'X=a\u007fb'],
    ['U+2028 (line separator)', 'X=a\u2028b'],
    ['U+2029 (paragraph separator)', 'X=a\u2029b'],
    // The module promises "any control character"; C1 controls are control characters too, and
    // protocol/values.ts refuses U+0080-U+009F everywhere else.
    ['U+0085 (next line, C1)', 'X=a\u0085b'],
    ['U+009B (CSI, C1)', 'X=a\u009bb'],
  ])('refuses %s with VALIDATION', (what, assignment) => {
    const error = thrown(() => escapeSystemdEnvironmentWord(assignment));
    expect(error.code).toBe('VALIDATION');
    expect(error.message).not.toMatch(/[\n\r]/);
    if (what === 'a newline') expect(error.message).toContain('a newline');
  });
});

describe('renderProxyDropIn', () => {
  it.each([
    ['no variables', {}],
    ['only empty strings', { HTTP_PROXY: '', HTTPS_PROXY: '', NO_PROXY: '' }],
    ['undefined values', { HTTP_PROXY: undefined }],
  ])('is null when there is no proxy (%s): the file should not exist', (_what, env) => {
    expect(renderProxyDropIn(env as ProxyEnvironment)).toBeNull();
  });

  it('renders a [Service] section with one Environment= line, variables in a fixed order', () => {
    const text = renderProxyDropIn({ NO_PROXY: 'localhost,.corp', HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://proxy:3128' })!;
    expect(directives(text)).toEqual(['[Service]', 'Environment="HTTP_PROXY=http://proxy:3128" "HTTPS_PROXY=http://proxy:3128" "NO_PROXY=localhost,.corp"']);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).toMatch(/^#.*fleetdock/);
  });

  it('leaves out variables that are not set', () => {
    const text = renderProxyDropIn({ HTTPS_PROXY: 'http://proxy:3128' })!;
    expect(directives(text)).toEqual(['[Service]', 'Environment="HTTPS_PROXY=http://proxy:3128"']);
  });

  it('is the same text for the same proxy', () => {
    const env = { HTTP_PROXY: 'http://u:p%40ss@proxy:3128', NO_PROXY: 'localhost' };
    expect(renderProxyDropIn({ ...env })).toBe(renderProxyDropIn({ ...env }));
  });

  it.each([
    ['a newline with a new directive', { HTTP_PROXY: 'http://p:3128\nExecStartPre=/bin/sh -c "id"' }],
    ['a newline with a new section', { NO_PROXY: 'localhost\n[Service]\nExecStart=' }],
    ['a carriage return', { HTTPS_PROXY: 'http://p:3128\rUser=root' }],
    ['U+2028', { HTTP_PROXY: 'http://p:3128\u2028User=root' }],
  ])('refuses a value with %s (VALIDATION), writing nothing', (_what, env) => {
    expect(thrown(() => renderProxyDropIn(env)).code).toBe('VALIDATION');
  });

  const awkward: [string, ProxyEnvironment][] = [
    ['a percent-encoded password', { HTTP_PROXY: 'http://user:p%40ss@proxy:3128', HTTPS_PROXY: 'http://user:p%40ss@proxy:3128' }],
    ['specifier look-alikes', { HTTP_PROXY: 'http://u:%n%h%%@proxy:3128' }],
    ['a double quote that tries to close the word', { HTTP_PROXY: 'http://p:3128" "HTTPS_PROXY=http://evil:1', NO_PROXY: 'localhost' }],
    ['a backslash before a quote', { HTTP_PROXY: 'http://p:3128\\', HTTPS_PROXY: 'x\\" "NO_PROXY=*' }],
    ['backslash escapes that systemd would read', { NO_PROXY: 'a\\nb,c\\x41,\\\\' }],
    ['a space in no-proxy', { HTTP_PROXY: 'http://p:3128', NO_PROXY: 'localhost, .corp.example' }],
    ['dollar signs', { HTTP_PROXY: 'http://u:$HOME${x}@p:3128' }],
    ['an equals sign in a value', { HTTP_PROXY: 'http://u:a=b@p:3128' }],
    ['a semicolon and a hash', { NO_PROXY: 'a;b#c' }],
    ['unicode', { NO_PROXY: 'bücher.example,€' }],
  ];

  it.each(awkward)('round-trips %s: parse(render(env)) gives the same values', (_what, env) => {
    const text = renderProxyDropIn(env)!;
    expect(parseProxyDropIn(text)).toEqual(env);
  });

  it.each(awkward)('renders exactly one [Service] and one Environment= line for %s', (_what, env) => {
    const lines = directives(renderProxyDropIn(env)!);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('[Service]');
    expect(lines[1]).toMatch(/^Environment=/);
  });
});

describe('parseProxyDropIn', () => {
  it('is null for a missing file', () => {
    expect(parseProxyDropIn(null)).toBeNull();
  });

  it('is null for a file without an Environment= line', () => {
    expect(parseProxyDropIn('[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd\n')).toBeNull();
  });

  it.each([
    ['the documented hand-written form', '[Service]\nEnvironment="HTTP_PROXY=http://proxy:3128"\nEnvironment="HTTPS_PROXY=http://proxy:3128"\n', { HTTP_PROXY: 'http://proxy:3128', HTTPS_PROXY: 'http://proxy:3128' }],
    ['unquoted words', '[Service]\nEnvironment=HTTP_PROXY=http://proxy:3128 NO_PROXY=localhost\n', { HTTP_PROXY: 'http://proxy:3128', NO_PROXY: 'localhost' }],
    ['lower-case names', '[Service]\nEnvironment="http_proxy=http://p:3128"\n', { HTTP_PROXY: 'http://p:3128' }],
    ['other variables beside the proxy', '[Service]\nEnvironment="FOO=bar" "HTTP_PROXY=http://p:3128"\n', { HTTP_PROXY: 'http://p:3128' }],
    ['only other variables', '[Service]\nEnvironment="FOO=bar"\n', {}],
  ])('reads %s', (_what, text, env) => {
    expect(parseProxyDropIn(text)).toEqual(env);
  });
});
