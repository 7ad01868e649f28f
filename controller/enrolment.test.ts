import { describe, expect, it } from 'vitest';
import { judgeJoinToken } from './enrolment.js';
import type { JoinTokenRow } from './store/join-tokens.js';

const now = new Date('2026-11-28T10:00:00.000Z');
const token: JoinTokenRow = {
  id: 1,
  groupId: 1,
  group: 'ci',
  createdAt: '2026-11-28T09:00:00.000Z',
  expiresAt: '2026-11-29T09:00:00.000Z',
  usesTotal: 1,
  usesLeft: 1,
  revokedAt: null,
};

describe('judgeJoinToken', () => {
  it.each([
    ['a valid token', token, null],
    ['an unknown token', undefined, /not known/],
    ['an expired token', { ...token, expiresAt: '2026-11-28T09:59:59.999Z' }, /expired at 2026-11-28T09:59:59.999Z/],
    ['a token expiring this very moment', { ...token, expiresAt: now.toISOString() }, /expired/],
    ['a used-up token', { ...token, usesLeft: 0 }, /used up \(it allowed 1 enrolment\)/],
    ['a revoked token', { ...token, revokedAt: '2026-11-28T09:30:00.000Z' }, /revoked/],
  ])('%s', (_name, row, expected) => {
    const problem = judgeJoinToken(row, now);
    if (expected === null) expect(problem).toBeNull();
    else expect(problem).toMatch(expected);
  });
});
