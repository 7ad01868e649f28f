/**
 * Enrolment: checks whom it talks to (controller-trust.ts), then trades the join token's secret for
 * the host's own credential (POST /v1/enrol, verified against the trusted CA) and keeps both the
 * credential and that CA in the state dir. Done once; afterwards the credential alone identifies the host.
 */
import { FleetdockError, isErrorCode } from '../protocol/errors.js';
import { describeRequestFailure, isTlsVerificationFailure, sendRequest } from '../protocol/http-request.js';
import { parseJoinToken } from '../protocol/join-token.js';
import { EnrolResponseSchema } from '../protocol/messages.js';
import type { HostFacts } from '../protocol/observed.js';
import { establishTrust } from './controller-trust.js';
import { saveCredential, type StoredCredential } from './state.js';

/** What enrolment needs besides the controller and the state dir. */
export interface EnrolInput {
  joinToken: string;
  name: string;
  facts: HostFacts;
  /** --ca-file: a CA to trust instead of the token's pin. */
  caFile: string | null;
}

/**
 * Enrols at `controller`; throws FleetdockError: CONTROLLER_UNREACHABLE (worth retrying), or one the
 * operator must act on (JOIN_TOKEN_INVALID, HOST_NAME_TAKEN, CA_PIN_MISMATCH, TLS_UNTRUSTED, VALIDATION).
 */
export async function enrol(controller: string, stateDir: string, input: EnrolInput): Promise<StoredCredential> {
  const token = parseJoinToken(input.joinToken);
  const ca = await establishTrust(controller, token, input.caFile);
  let response;
  try {
    response = await sendRequest(`${controller}/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ joinToken: token.secret, name: input.name, facts: input.facts }),
      ca: ca ?? undefined,
      timeoutMs: 15_000,
    });
  } catch (error) {
    if (isTlsVerificationFailure(error)) {
      throw new FleetdockError('TLS_UNTRUSTED', `will not enrol at ${controller}: ${describeRequestFailure(error, controller)}; the join token was not sent`, { cause: error });
    }
    throw new FleetdockError('CONTROLLER_UNREACHABLE', `cannot reach the controller at ${controller} to enrol: ${describeRequestFailure(error, controller)}`, { cause: error });
  }
  type ErrorBody = { error?: { code?: unknown; message?: unknown } } | null;
  let body: ErrorBody;
  try {
    body = JSON.parse(response.body) as ErrorBody;
  } catch {
    body = null;
  }
  if (response.status < 200 || response.status > 299) {
    const code = isErrorCode(body?.error?.code) ? body.error.code : response.status >= 500 ? 'CONTROLLER_UNREACHABLE' : 'INTERNAL';
    throw new FleetdockError(code, `enrolment refused: ${typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`}`);
  }
  const parsed = EnrolResponseSchema.safeParse(body);
  if (!parsed.success) throw new FleetdockError('BAD_MESSAGE', 'the controller answered the enrolment with a malformed body');
  const credential: StoredCredential = { controller, ...parsed.data, ca };
  await saveCredential(stateDir, credential);
  return credential;
}
