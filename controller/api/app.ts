/**
 * Wires the express app: a request log line (method, path, status, time; never bodies or headers),
 * every route of the table behind the failed-login throttle, its access check and then a JSON body
 * parser (up to the limit), then 404 and the error handler. Holds no route logic.
 */
import express, { type Express, type RequestHandler } from 'express';
import { FleetdockError } from '../../protocol/errors.js';
import type { Operator } from '../store/operator-tokens.js';
import { authorize } from './auth.js';
import type { ApiDeps } from './context.js';
import { createErrorHandler, notFound } from './errors.js';
import { ROUTES } from './routes.js';

/**
 * Whether a refusal means someone presented a secret that does not work: an operator token that is
 * unknown or revoked (a request without any token is not a guess), or a join token that is not valid.
 */
function isFailedLogin(error: unknown, authorization: string | undefined): boolean {
  if (!(error instanceof FleetdockError)) return false;
  if (error.code === 'UNAUTHENTICATED') return authorization !== undefined;
  return error.code === 'JOIN_TOKEN_INVALID';
}

/** Builds the API app over the controller's parts. */
export function createApiApp(deps: ApiDeps, options: { maxBodyBytes: number }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.logger.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    next();
  });
  const parseJson = express.json({ limit: options.maxBodyBytes });
  for (const route of ROUTES) {
    // Access is checked before the body is read: a caller without a token learns nothing from it.
    // A blocked address is refused before its token is looked at: a guess then tells it nothing.
    const checkAccess: RequestHandler = (req, res, next) => {
      const address = req.socket.remoteAddress ?? 'unknown';
      deps.throttle?.check(address);
      try {
        res.locals.operator = authorize(route.access, req.headers.authorization, deps.store.operatorTokens);
      } catch (error) {
        if (isFailedLogin(error, req.headers.authorization)) deps.throttle?.recordFailure(address);
        throw error;
      }
      next();
    };
    app[route.method](route.path, checkAccess, parseJson, (req, res) => {
      const operator = (res.locals.operator as Operator | null) ?? null;
      let reply;
      try {
        reply = route.handler({ params: req.params as Record<string, string>, query: req.query, body: req.body, operator, deps });
      } catch (error) {
        // A join token that does not work at enrolment is a failed login too (guessing tokens).
        if (isFailedLogin(error, req.headers.authorization)) deps.throttle?.recordFailure(req.socket.remoteAddress ?? 'unknown');
        throw error;
      }
      res.status(reply.status).json(reply.body);
    });
  }
  app.use(notFound);
  app.use(createErrorHandler(deps.logger));
  return app;
}
