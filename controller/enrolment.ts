/**
 * Enrolment: trading a join token for a host credential. The rules on a token are a pure function;
 * `enrolHost` checks the token and the name, takes one use, creates the host and appends `host.enrol`
 * to the audit log, all in one transaction, so a token with one use left enrols exactly one host however
 * many agents race for it, and no enrolment goes unrecorded.
 */
import { randomUUID } from 'node:crypto';
import { FleetdockError } from '../protocol/errors.js';
import { joinTokenSecret } from '../protocol/join-token.js';
import type { EnrolRequest, EnrolResponse } from '../protocol/messages.js';
import { generateSecret, hashSecret } from './secrets.js';
import type { Store } from './store/index.js';
import type { JoinTokenRow } from './store/join-tokens.js';

/** Why a join token cannot be used now, or null when it can. Distinct messages for each reason. */
export function judgeJoinToken(token: JoinTokenRow | undefined, now: Date): string | null {
  if (!token) return 'join token is not known to this controller (check that you copied all of it)';
  if (token.revokedAt !== null) return `join token was revoked at ${token.revokedAt}; ask for a new one (fleetdock token create --group ${token.group})`;
  if (token.expiresAt <= now.toISOString()) return `join token expired at ${token.expiresAt}; ask for a new one (fleetdock token create --group ${token.group})`;
  if (token.usesLeft <= 0) return `join token is used up (it allowed ${token.usesTotal} enrolment${token.usesTotal === 1 ? '' : 's'}); ask for a new one (fleetdock token create --group ${token.group})`;
  return null;
}

/**
 * Enrols a host: JOIN_TOKEN_INVALID when the token cannot be used, HOST_NAME_TAKEN when the name
 * belongs to an enrolled host; otherwise one use is taken and the host is created in the token's group
 * with a fresh credential, which is returned once and stored only as a hash; the `host.enrol` audit
 * entry is written in the same transaction.
 */
export function enrolHost(store: Store, request: EnrolRequest, now: Date): EnrolResponse {
  const credential = generateSecret();
  return store.db.transaction((): EnrolResponse => {
    const token = store.joinTokens.findByHash(hashSecret(joinTokenSecret(request.joinToken)));
    const problem = judgeJoinToken(token, now);
    if (problem || !token) throw new FleetdockError('JOIN_TOKEN_INVALID', problem ?? 'join token is not valid');
    const existing = store.hosts.find(request.name);
    if (existing) {
      // A revoked host's name stays taken until an operator removes the record: re-enrolling under it
      // is an operator's decision, never the agent's.
      const message = existing.revokedAt === null
        ? `host ${request.name} is already enrolled; choose another --name, or free the name (fleetdock host revoke ${request.name}, then fleetdock host remove ${request.name})`
        : `host ${request.name} was revoked at ${existing.revokedAt}; an operator must remove it (fleetdock host remove ${request.name}) before the name can enrol again`;
      throw new FleetdockError('HOST_NAME_TAKEN', message, { details: { name: request.name } });
    }
    if (!store.joinTokens.consumeOne(token.id)) throw new FleetdockError('JOIN_TOKEN_INVALID', judgeJoinToken({ ...token, usesLeft: 0 }, now)!);
    const id = randomUUID();
    store.hosts.insert({ id, name: request.name, groupId: token.groupId, credentialHash: hashSecret(credential), joinTokenId: token.id, facts: request.facts }, now);
    // In the same transaction: a host is never enrolled without its audit entry, nor the other way round.
    store.audit.record({
      at: now,
      actor: `host:${request.name}`,
      action: 'host.enrol',
      group: token.group,
      host: request.name,
      details: { dockerVersion: request.facts.dockerVersion, serviceManager: request.facts.serviceManager, agentVersion: request.facts.agentVersion },
    });
    return { hostId: id, name: request.name, group: token.group, credential };
  }).immediate();
}
