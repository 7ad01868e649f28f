/**
 * Wires the express app: a request log line (method, path, status, time; never bodies or headers),
 * every route of the table behind its access check and then a JSON body parser (up to the limit),
 * then 404 and the error handler. Holds no route logic.
 */
import express, { type Express, type RequestHandler } from 'express';
import type { Operator } from '../store/operator-tokens.js';
import { authorize } from './auth.js';
import type { ApiDeps } from './context.js';
import { createErrorHandler, notFound } from './errors.js';
import { ROUTES } from './routes.js';

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
    const checkAccess: RequestHandler = (req, res, next) => {
      res.locals.operator = authorize(route.access, req.headers.authorization, deps.store.operatorTokens);
      next();
    };
    app[route.method](route.path, checkAccess, parseJson, (req, res) => {
      const operator = (res.locals.operator as Operator | null) ?? null;
      const reply = route.handler({ params: req.params as Record<string, string>, query: req.query, body: req.body, operator, deps });
      res.status(reply.status).json(reply.body);
    });
  }
  app.use(notFound);
  app.use(createErrorHandler(deps.logger));
  return app;
}
