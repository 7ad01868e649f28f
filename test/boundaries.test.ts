// Import boundaries: protocol/ imports neither controller/ nor agent/; agent/ never imports controller/
// (the agent ships alone to build servers). Reads the real source files.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) return sourceFiles(rel);
    return name.endsWith('.ts') ? [rel] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

function violations(dir: string, forbidden: string[]): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(dir)) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(root, join(root, file, '..', spec));
      if (forbidden.some((f) => target === f || target.startsWith(`${f}/`))) found.push(`${file} imports ${spec}`);
    }
  }
  return found;
}

describe('import boundaries', () => {
  it('protocol/ imports neither controller/ nor agent/ nor cli/', () => {
    expect(violations('protocol', ['controller', 'agent', 'cli'])).toEqual([]);
  });
  it('agent/ never imports controller/ or cli/', () => {
    expect(violations('agent', ['controller', 'cli'])).toEqual([]);
  });
  it('controller/ never imports agent/', () => {
    expect(violations('controller', ['agent'])).toEqual([]);
  });
  it('finds the imports it checks (the scan is not empty)', () => {
    expect(sourceFiles('agent').length).toBeGreaterThan(5);
    expect(importsOf('agent/apply.ts')).toContain('../protocol/errors.js');
  });
});
