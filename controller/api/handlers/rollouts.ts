/**
 * The rollout routes: start (or dry-run) a rollout of a group, list a group's rollouts, show one,
 * pause, resume and abort it, and undo (a rollout back to an earlier revision). The engine
 * (controller/rollout/engine.ts) does the work; these parse, call it and render.
 */
import { FleetdockError } from '../../../protocol/errors.js';
import type { Handler } from '../context.js';
import { RolloutViewQuerySchema, RolloutListQuerySchema, StartRolloutRequestSchema, UndoRolloutRequestSchema } from '../rollout-schemas.js';
import { renderRolloutPlan, renderRolloutView } from '../rollout-views.js';
import { parseInput } from '../validate.js';

/** Parses a path segment that must be a rollout id; VALIDATION otherwise. */
export function parseRolloutId(text: string): number {
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new FleetdockError('VALIDATION', `rollout ${JSON.stringify(text.slice(0, 40))} is not a rollout id (1, 2, ...)`);
  }
  return Number(text);
}

const actorOf = (operator: { name: string } | null) => operator?.name ?? 'anonymous';

/**
 * POST /v1/groups/:name/rollouts[?hosts=false] `{ toRevision?, strategy?, dryRun? }`: 201 `{ rollout }`, or with
 * dryRun 200 `{ plan, batches, ... }`. ROLLOUT_ACTIVE, ROLLOUT_NOTHING_TO_DO, NO_REVISION, NOT_FOUND.
 */
export const postRollout: Handler = ({ params, query, body, operator, deps }) => {
  const { hosts } = parseInput(RolloutViewQuerySchema, query ?? {}, 'query');
  const request = parseInput(StartRolloutRequestSchema, body ?? {});
  if (request.dryRun) return { status: 200, body: renderRolloutPlan(deps.rollouts.plan(params.name!, request)) };
  return { status: 201, body: { rollout: renderRolloutView(deps.rollouts.startRollout(params.name!, request, actorOf(operator)), { hosts: hosts !== 'false' }) } };
};

/** POST /v1/groups/:name/rollouts/undo[?hosts=false] `{ toRevision?, strategy? }`: 201 `{ rollout }` back to an earlier revision. */
export const postUndo: Handler = ({ params, query, body, operator, deps }) => {
  const { hosts } = parseInput(RolloutViewQuerySchema, query ?? {}, 'query');
  const request = parseInput(UndoRolloutRequestSchema, body ?? {});
  return { status: 201, body: { rollout: renderRolloutView(deps.rollouts.undo(params.name!, request, actorOf(operator)), { hosts: hosts !== 'false' }) } };
};

/** GET /v1/groups/:name/rollouts[?limit=N]: `{ group, rollouts }`, newest first (default 20). */
export const listRollouts: Handler = ({ params, query, deps }) => {
  const { limit } = parseInput(RolloutListQuerySchema, query ?? {}, 'query');
  const rollouts = deps.rollouts.list(params.name!, limit ?? 20).map((record) => renderRolloutView(record));
  return { status: 200, body: { group: params.name, rollouts } };
};

/** GET /v1/rollouts/:id[?hosts=false]: `{ rollout }`; without hosts, each batch has only its size. */
export const getRollout: Handler = ({ params, query, deps }) => {
  const { hosts } = parseInput(RolloutViewQuerySchema, query ?? {}, 'query');
  return { status: 200, body: { rollout: renderRolloutView(deps.rollouts.require(parseRolloutId(params.id!)), { hosts: hosts !== 'false' }) } };
};

/** POST /v1/rollouts/:id/pause: `{ rollout }`; ROLLOUT_STATE unless it is running. */
export const pauseRollout: Handler = ({ params, operator, deps }) => ({
  status: 200,
  body: { rollout: renderRolloutView(deps.rollouts.pause(parseRolloutId(params.id!), actorOf(operator))) },
});

/** POST /v1/rollouts/:id/resume: `{ rollout }`; ROLLOUT_STATE unless it is paused. */
export const resumeRollout: Handler = ({ params, operator, deps }) => ({
  status: 200,
  body: { rollout: renderRolloutView(deps.rollouts.resume(parseRolloutId(params.id!), actorOf(operator))) },
});

/** POST /v1/rollouts/:id/abort: `{ rollout }`; ROLLOUT_STATE unless it is running, paused or rolling back. */
export const abortRollout: Handler = ({ params, operator, deps }) => ({
  status: 200,
  body: { rollout: renderRolloutView(deps.rollouts.abort(parseRolloutId(params.id!), actorOf(operator))) },
});
