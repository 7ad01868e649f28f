/**
 * Enrolment: trades a join token for the host's own credential (POST /v1/enrol) and keeps it in the
 * state dir. Done once; afterwards the credential alone identifies the host.
 */
import { FleetdockError, isErrorCode } from '../protocol/errors.js';
import { EnrolResponseSchema, type EnrolRequest } from '../protocol/messages.js';
import { saveCredential, type StoredCredential } from './state.js';

/** Enrols at `controller`; throws FleetdockError (JOIN_TOKEN_INVALID, HOST_NAME_TAKEN, CONTROLLER_UNREACHABLE, ...). */
export async function enrol(controller: string, stateDir: string, request: EnrolRequest): Promise<StoredCredential> {
  let response: Response;
  try {
    response = await fetch(`${controller}/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new FleetdockError('CONTROLLER_UNREACHABLE', `cannot reach the controller at ${controller} to enrol: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`, { cause: error });
  }
  const body = (await response.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
  if (!response.ok) {
    const code = isErrorCode(body?.error?.code) ? body.error.code : 'INTERNAL';
    throw new FleetdockError(code, `enrolment refused: ${typeof body?.error?.message === 'string' ? body.error.message : `HTTP ${response.status}`}`);
  }
  const parsed = EnrolResponseSchema.safeParse(body);
  if (!parsed.success) throw new FleetdockError('BAD_MESSAGE', 'the controller answered the enrolment with a malformed body');
  const credential: StoredCredential = { controller, ...parsed.data };
  await saveCredential(stateDir, credential);
  return credential;
}
