/**
 * GET /v1/ca: the CA certificate a TLS controller's server certificate chains to, for agents to check
 * against the pin in their join token before they send it. Anonymous: a CA certificate is public,
 * and the pin, not this answer, is what makes it trusted.
 */
import { FleetdockError } from '../../../protocol/errors.js';
import type { Handler } from '../context.js';

/** 200 `{ ca: PEM, pin }`; 404 on a controller serving insecure plain HTTP (it has no CA). */
export const getCa: Handler = ({ deps }) => {
  if (!deps.trust) throw new FleetdockError('NOT_FOUND', 'this controller serves insecure plain HTTP and has no CA');
  return { status: 200, body: { ca: deps.trust.caPem, pin: deps.trust.pin } };
};
