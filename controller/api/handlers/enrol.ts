/** POST /v1/enrol: an agent trades a join token for its host credential. Anonymous (the token is the proof). */
import { EnrolRequestSchema } from '../../../protocol/messages.js';
import { enrolHost } from '../../enrolment.js';
import type { Handler } from '../context.js';
import { parseInput } from '../validate.js';

/**
 * 201 with the EnrolResponse (hostId, name, group, credential); JOIN_TOKEN_INVALID / HOST_NAME_TAKEN
 * otherwise. The `host.enrol` audit entry is written by enrolHost, in the enrolment's transaction.
 */
export const postEnrol: Handler = ({ body, deps }) => {
  const request = parseInput(EnrolRequestSchema, body);
  const response = enrolHost(deps.store, request, deps.now());
  deps.logger.info({ hostId: response.hostId, host: response.name, group: response.group }, 'host enrolled');
  return { status: 201, body: response };
};
