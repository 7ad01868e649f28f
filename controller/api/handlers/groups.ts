/**
 * The group routes: create and list groups, show one, replace its settings (a new revision when they
 * changed; sent to hosts at once only when it is the group's first, otherwise a rollout moves them),
 * read its revision history, and make join tokens.
 */
import { formatJoinToken } from '../../../protocol/join-token.js';
import { SettingsSchema } from '../../../protocol/settings.js';
import { diffSettingsFields } from '../../rollout/plan-changes.js';
import { generateSecret, hashSecret } from '../../secrets.js';
import { redactSettings } from '../../settings.js';
import type { HostRecord } from '../../store/hosts.js';
import type { Handler } from '../context.js';
import { CreateGroupRequestSchema, CreateJoinTokenRequestSchema, type JoinTokenResponse, type SetSettingsResponse } from '../schemas.js';
import { parseInput, parseRevisionNumber } from '../validate.js';
import { renderGroupDetail, renderGroupSummary, renderRevisionView } from '../views.js';

/** POST /v1/groups `{ name }`: 201 with the new group; ALREADY_EXISTS when taken. */
export const postGroup: Handler = ({ body, operator, deps }) => {
  const { name } = parseInput(CreateGroupRequestSchema, body);
  const { store } = deps;
  // The group and its audit entry commit together: a crash between them cannot lose the entry.
  const group = store.db.transaction(() => {
    const created = store.groups.create(name, operator?.name ?? null, deps.now());
    store.audit.record({ at: created.createdAt, actor: operator?.name ?? 'admin', action: 'group.create', group: name });
    return created;
  }).immediate();
  deps.logger.info({ group: name, by: operator?.name }, 'group created');
  return { status: 201, body: renderGroupDetail(group, undefined, []) };
};

/** GET /v1/groups: every group with its latest revision number and host counts. */
export const listGroups: Handler = ({ deps }) => {
  const { store } = deps;
  const latest = store.revisions.latestNumbers();
  const hostsByGroup = new Map<number, HostRecord[]>();
  for (const host of store.hosts.list()) {
    const list = hostsByGroup.get(host.groupId);
    if (list) list.push(host);
    else hostsByGroup.set(host.groupId, [host]);
  }
  const groups = store.groups.list().map((g) => renderGroupSummary(g, latest.get(g.id) ?? null, hostsByGroup.get(g.id) ?? []));
  return { status: 200, body: { groups } };
};

/** GET /v1/groups/:name: the latest revision (redacted) and host counts. */
export const getGroup: Handler = ({ params, deps }) => {
  const group = deps.store.groups.require(params.name!);
  const detail = renderGroupDetail(group, deps.store.revisions.latest(group.id), deps.store.hosts.list(group.id));
  return { status: 200, body: { ...detail, driftPolicy: deps.store.drift.policy(group.id) } };
};

/**
 * PUT /v1/groups/:name/settings: 201 `{ revision, settings, changed: true, currentRevision }` with
 * revision N+1, or 200 `changed: false` when the normalised settings equal the latest's. The revision
 * is sent to hosts at once only when the group had no current revision (nothing was configured, so
 * nothing can break); otherwise it waits for a rollout (POST /v1/groups/:name/rollouts).
 */
export const putSettings: Handler = ({ params, body, operator, deps }) => {
  const settings = parseInput(SettingsSchema, body);
  const { store } = deps;
  const group = store.groups.require(params.name!);
  // The revision, the group's first current revision and the audit entry commit together; the
  // revision is sent to hosts only after the commit.
  const { revision, changed, first } = store.db.transaction(() => {
    const appended = store.revisions.appendIfChanged(group.id, settings, operator?.name ?? null, deps.now());
    const { revision: made } = appended;
    // Also on an unchanged answer: a controller killed between the two writes (before they shared a
    // transaction) left no current revision.
    const isFirst = store.groups.setFirstCurrentRevision(group.id, made.number);
    if (appended.changed) {
      const before = made.number > 1 ? store.revisions.require(group.id, group.name, made.number - 1).settings : null;
      store.audit.record({
        at: made.createdAt,
        actor: operator?.name ?? 'admin',
        action: 'settings.set',
        group: group.name,
        fromRevision: made.number > 1 ? made.number - 1 : null,
        toRevision: made.number,
        details: { changed: diffSettingsFields(before, made.settings), current: isFirst },
      });
    }
    return { ...appended, first: isFirst };
  }).immediate();
  const sentTo = first ? deps.publisher.publishDesired(group.id, revision) : 0;
  if (changed) deps.logger.info({ group: group.name, revision: revision.number, by: operator?.name, current: first, sentTo }, 'settings revision created');
  const currentRevision = first ? revision.number : group.currentRevision;
  const reply: SetSettingsResponse = { revision: revision.number, changed, currentRevision, settings: redactSettings(revision.settings) };
  return { status: changed ? 201 : 200, body: reply };
};

/** GET /v1/groups/:name/revisions: every revision, oldest first, redacted. */
export const listRevisions: Handler = ({ params, deps }) => {
  const group = deps.store.groups.require(params.name!);
  return { status: 200, body: { group: group.name, revisions: deps.store.revisions.list(group.id).map(renderRevisionView) } };
};

/** GET /v1/groups/:name/revisions/:number: one revision, redacted. */
export const getRevision: Handler = ({ params, deps }) => {
  const group = deps.store.groups.require(params.name!);
  const number = parseRevisionNumber(params.number!);
  return { status: 200, body: renderRevisionView(deps.store.revisions.require(group.id, group.name, number)) };
};

/**
 * POST /v1/groups/:name/join-tokens `{ uses?, ttlSeconds? }`: 201 with the token, shown this once
 * (`FD1<CA pin>::<secret>` on a TLS controller; only the secret's hash is stored), and its id (for
 * POST /v1/join-tokens/:id/revoke).
 */
export const postJoinToken: Handler = ({ params, body, operator, deps }) => {
  const request = parseInput(CreateJoinTokenRequestSchema, body ?? {});
  const group = deps.store.groups.require(params.name!);
  const token = generateSecret();
  const createdAt = deps.now();
  const expiresAt = new Date(createdAt.getTime() + request.ttlSeconds * 1000);
  const { store } = deps;
  const id = store.db.transaction(() => {
    const created = store.joinTokens.create({ groupId: group.id, tokenHash: hashSecret(token), createdBy: operator?.name ?? null, uses: request.uses, createdAt, expiresAt });
    // The token itself never goes into the log: only that one was made, for how many hosts, until when.
    store.audit.record({ at: createdAt, actor: operator?.name ?? 'admin', action: 'token.create', group: group.name, details: { uses: request.uses, expiresAt: expiresAt.toISOString() } });
    return created;
  }).immediate();
  deps.logger.info({ group: group.name, uses: request.uses, expiresAt, by: operator?.name }, 'join token created');
  // On a TLS controller the token carries the CA pin, so an agent can check whom it talks to first.
  const reply: JoinTokenResponse = { id, token: formatJoinToken(deps.trust?.pin ?? null, token), group: group.name, expiresAt: expiresAt.toISOString(), uses: request.uses };
  return { status: 201, body: reply };
};
