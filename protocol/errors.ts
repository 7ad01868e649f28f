/**
 * The one error catalogue shared by controller, agent and CLI: a stable code, an HTTP status and
 * whether a caller may retry. Messages are written where the error happens and name what was wrong.
 */

export const ERROR_CATALOGUE = {
  // input and protocol
  VALIDATION: { status: 400, retryable: false },
  BAD_JSON: { status: 400, retryable: false },
  BAD_MESSAGE: { status: 400, retryable: false },
  UNKNOWN_MESSAGE_TYPE: { status: 400, retryable: false },
  MESSAGE_TOO_LARGE: { status: 413, retryable: false },
  PROTOCOL_VERSION: { status: 400, retryable: false },
  // auth and enrolment
  UNAUTHENTICATED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  /** Too many failed logins from one address; `details.retryAfterSeconds` says when to try again. */
  RATE_LIMITED: { status: 429, retryable: true },
  JOIN_TOKEN_INVALID: { status: 401, retryable: false },
  HOST_NAME_TAKEN: { status: 409, retryable: false },
  CREDENTIAL_INVALID: { status: 401, retryable: false },
  /** The controller's CA is not the one the join token pins (another controller, or someone in between). */
  CA_PIN_MISMATCH: { status: 502, retryable: false },
  /** The controller's TLS certificate does not verify (unknown CA, wrong name, expired). */
  TLS_UNTRUSTED: { status: 502, retryable: false },
  SESSION_REPLACED: { status: 409, retryable: true },
  // resources
  NOT_FOUND: { status: 404, retryable: false },
  ALREADY_EXISTS: { status: 409, retryable: false },
  NO_REVISION: { status: 409, retryable: false },
  // rollouts
  ROLLOUT_ACTIVE: { status: 409, retryable: true },
  ROLLOUT_STATE: { status: 409, retryable: false },
  ROLLOUT_NOTHING_TO_DO: { status: 409, retryable: false },
  /** A host started by a rollout sent no verified result in time (shown on the host, never an HTTP answer). */
  RESULT_TIMEOUT: { status: 504, retryable: true },
  // controller
  MIGRATION_FAILED: { status: 500, retryable: false },
  INTERNAL: { status: 500, retryable: true },
  CONTROLLER_UNREACHABLE: { status: 503, retryable: true },
  // agent, applying settings on a host
  DAEMON_JSON_INVALID: { status: 422, retryable: false },
  FLAG_CONFLICT: { status: 422, retryable: false },
  PROXY_NEEDS_SYSTEMD: { status: 422, retryable: false },
  DOCKER_UNREACHABLE: { status: 503, retryable: true },
  WRITE_FAILED: { status: 500, retryable: true },
  ACTION_FAILED: { status: 500, retryable: true },
  VERIFY_FAILED: { status: 500, retryable: true },
  ROLLBACK_FAILED: { status: 500, retryable: false },
  CLIENT_USER_UNKNOWN: { status: 422, retryable: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error with a stable code; `message` says what was wrong and, where it helps, what to do next. */
export class FleetdockError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  /** Extra structured facts (e.g. the field that was wrong). Never holds secrets. */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetdockError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.retryable = ERROR_CATALOGUE[code].retryable;
    this.details = options.details;
  }

  /** The one error shape used over HTTP and WebSocket. */
  toJSON(): { code: ErrorCode; message: string; retryable: boolean; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Whether `code` names an entry of the catalogue. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CATALOGUE, code);
}
