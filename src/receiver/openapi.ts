/**
 * The OpenAPI 3.1 document of the receiver's HTTP API, served as GET /openapi.json without a token, for frontends
 * to generate typed clients from. Each route module exports the paths it serves (`ApiPaths`, with the schemas of
 * api-schemas.ts) next to its router, and app.ts hands them all to `apiDocument`; test/receiver/openapi.test.ts
 * fails when the app has a route the document lacks, and when a real answer does not match it.
 */
import Router from '@koa/router';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathItemObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';
import { apiErrorSchema, errorWith } from './api-schemas';

/** The paths one route module serves, keyed as in OpenAPI (`/api/things/{id}`). */
export type ApiPaths = ZodOpenApiPathsObject;
export type ApiOperation = ZodOpenApiOperationObject;

const OPENAPI_PATH = '/openapi.json';

/** The security requirement of a route behind an API token (`Authorization: Bearer <token>`). */
export const BEARER_TOKEN = [{ bearerAuth: [] }];

/** A JSON answer of one status. */
export function jsonAnswer(description: string, schema: z.ZodType, headers?: z.ZodObject): ZodOpenApiResponseObject {
  return { description, content: { 'application/json': { schema } }, ...(headers ? { headers } : {}) };
}

/** The header of a 429 or 503 answer. */
export const RETRY_AFTER = z.object({ 'Retry-After': z.int().positive().meta({ description: 'Seconds to wait.' }) });

/** A text answer of one status (a page, a static file, the metrics). */
export function textAnswer(mediaType: string, description: string): ZodOpenApiResponseObject {
  return { description, content: { [mediaType]: { schema: z.string() } } };
}

/** The 401 of a route behind an API token (src/auth/api-tokens.ts). */
export const UNAUTHORIZED: ZodOpenApiResponseObject = {
  ...jsonAnswer('No valid API token: the answer carries `WWW-Authenticate: Bearer`.', errorWith(['unauthorized'])),
  id: 'Unauthorized',
};

/** Any status an operation does not list (404, 405, 500…) answers an `ApiError` (src/receiver/request-context.ts). */
const OTHER_ERRORS = jsonAnswer('Any other error: `not_found`, `method_not_allowed`, `internal_error`…', apiErrorSchema);

const openApiPaths: ApiPaths = {
  [OPENAPI_PATH]: {
    get: {
      operationId: 'getOpenApiDocument',
      tags: ['documentation'],
      summary: 'This document',
      responses: {
        200: jsonAnswer('The OpenAPI 3.1 document of this API.', z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) })),
      },
    },
  },
};

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type ApiDocument = ReturnType<typeof createDocument>;

/** The document of the given route modules' paths (and of GET /openapi.json); `apiUrl` is where clients reach it. */
export function apiDocument(apiUrl: string, modulePaths: readonly ApiPaths[]): ApiDocument {
  const paths: ApiPaths = {};
  for (const [path, item] of [openApiPaths, ...modulePaths].flatMap((module) => Object.entries(module))) {
    const existing = paths[path] ?? {};
    const twice = METHODS.filter((method) => item[method] && existing[method]);
    if (twice.length) throw new Error(`${twice.join(', ')} ${path} is documented by two route modules`);
    const merged: ZodOpenApiPathItemObject = { ...existing, ...item };
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) merged[method] = { ...operation, responses: { default: OTHER_ERRORS, ...operation.responses } };
    }
    paths[path] = merged;
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Calendly bookings',
      version: '1.0.0',
      description:
        'Leads, meetings and reminders made from Calendly bookings. Every answer carries `X-Request-Id` (the ' +
        "caller's, when it sends a sane one). Errors are JSON: `{\"error\": \"…\", \"code\": \"…\"}`. Live changes " +
        'arrive on the websocket `/ws` (`Authorization: Bearer <token>`, or `?ticket=` from `POST /api/ws-ticket`; see the README), which this document does not describe.',
    },
    servers: [{ url: apiUrl }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: "An API token; one bound to an organization sees only that organization's data." },
      },
    },
  });
}

/** GET /openapi.json: the document, serialized once. */
export function openApiRoutes(document: ApiDocument): Router {
  const json = JSON.stringify(document);
  const router = new Router();
  router.get(OPENAPI_PATH, (ctx) => {
    ctx.type = 'application/json';
    ctx.body = json;
  });
  return router;
}
