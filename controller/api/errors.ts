/**
 * Turns anything thrown while answering a request into the one error shape,
 * `{ "error": { code, message, retryable, details? } }`, with the catalogue's status. Body-parser
 * failures get their own codes; anything unexpected is logged with its stack and answered as INTERNAL
 * without it. Also the 404 for routes that do not exist.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { FleetdockError } from '../../protocol/errors.js';

/** Maps a thrown value to a FleetdockError; `unexpected` is true when it was not one already. */
export function toFleetdockError(error: unknown): { error: FleetdockError; unexpected: boolean } {
  if (error instanceof FleetdockError) return { error, unexpected: false };
  const type = (error as { type?: unknown } | null)?.type;
  if (type === 'entity.parse.failed') return { error: new FleetdockError('BAD_JSON', 'request body is not valid JSON'), unexpected: false };
  if (type === 'entity.too.large') {
    const limit = (error as { limit?: number }).limit;
    return { error: new FleetdockError('MESSAGE_TOO_LARGE', `request body is larger than the ${limit ?? ''}-byte limit`), unexpected: false };
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return { error: new FleetdockError('VALIDATION', 'request body must be UTF-8 JSON'), unexpected: false };
  }
  // The router could not decode a path segment (`%ZZ`, `%C0%80`): the caller's mistake, not ours.
  if (error instanceof URIError) return { error: new FleetdockError('VALIDATION', 'request path is not valid percent-encoded UTF-8'), unexpected: false };
  // Any other client error of body-parser (a body that does not match its Content-Encoding, a length
  // that does not match Content-Length, an aborted request).
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { error: new FleetdockError('VALIDATION', 'request body could not be read (check its Content-Encoding and Content-Length)'), unexpected: false };
  }
  return { error: new FleetdockError('INTERNAL', "internal error; the controller's log has the details"), unexpected: true };
}

/** Express error handler writing the one error shape. */
export function createErrorHandler(logger: Logger): ErrorRequestHandler {
  return (thrown, req, res, _next) => {
    const { error, unexpected } = toFleetdockError(thrown);
    if (unexpected) {
      logger.error({ err: thrown, method: req.method, path: req.path }, 'request failed unexpectedly');
    }
    if (error.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer');
    if (error.code === 'RATE_LIMITED') res.setHeader('Retry-After', String(error.details?.retryAfterSeconds ?? 60));
    res.status(error.status).json({ error: error.toJSON() });
  };
}

/** The last handler: every request no route took is a 404 NOT_FOUND naming it. */
export const notFound: RequestHandler = (req, _res, next) => {
  next(new FleetdockError('NOT_FOUND', `no such endpoint: ${req.method} ${req.path}`));
};
