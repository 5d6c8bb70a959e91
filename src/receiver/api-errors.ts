/**
 * The error codes a route module answers, written once: each code with its HTTP status and what it means. The
 * handler answers with `answerError(catalogue, ctx, code, error)` (a code outside the catalogue does not compile),
 * and the module's OpenAPI operations list theirs with `errorAnswers(catalogue, codes)`, which builds one response
 * per status from the same entries; test/receiver/openapi.test.ts checks that every catalogued code is documented.
 */
import type { Context } from 'koa';
import { z } from 'zod';
import type { ZodOpenApiResponseObject } from 'zod-openapi';
import { errorWith } from './api-schemas';
import { jsonAnswer } from './openapi';

/** One error code: the status it is answered with, and its meaning for the document. */
export interface ErrorCode {
  status: number;
  means: string;
}
export type ErrorCatalogue = Readonly<Record<string, ErrorCode>>;
export type CodeOf<Catalogue extends ErrorCatalogue> = keyof Catalogue & string;

/** A route module's catalogue (typed by its literal codes). */
export const errorCatalogue = <const Catalogue extends ErrorCatalogue>(catalogue: Catalogue): Catalogue => catalogue;

/** Answers `{error, code}` with the code's status, and `fields` the module documents for it (the webhook's trackingId). */
export function answerError<Catalogue extends ErrorCatalogue>(
  catalogue: Catalogue,
  ctx: Context,
  code: CodeOf<Catalogue>,
  error: string,
  fields: Readonly<Record<string, unknown>> = {},
): void {
  ctx.status = catalogue[code].status;
  ctx.body = { error, code, ...fields };
}

/** What one status of an operation adds to the error shape: fields (a 409's details) or headers (Retry-After). */
export interface ErrorAnswerExtras {
  fields?: z.ZodRawShape;
  headers?: z.ZodObject;
}
export type ErrorAnswerExtrasByStatus = Readonly<Record<number, ErrorAnswerExtras>>;

/** The error responses of an operation that can answer `codes`: one per status, each code described by its meaning. */
export function errorAnswers<Catalogue extends ErrorCatalogue>(
  catalogue: Catalogue,
  codes: readonly CodeOf<Catalogue>[],
  extras: ErrorAnswerExtrasByStatus = {},
): Record<number, ZodOpenApiResponseObject> {
  const byStatus = new Map<number, [string, ...string[]]>();
  for (const code of codes) {
    const status = catalogue[code].status;
    const same = byStatus.get(status);
    if (same) same.push(code);
    else byStatus.set(status, [code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, sameStatus]) => {
      const description = sameStatus.map((code) => `\`${code}\`: ${catalogue[code].means}`).join('; ');
      const { fields, headers } = extras[status] ?? {};
      const schema = fields ? errorWith(sameStatus).extend(fields) : errorWith(sameStatus);
      return [status, jsonAnswer(description, schema, headers)];
    }),
  );
}

/** The 400 of a route whose query does not parse; every route with a query answers it. */
export const QUERY_ERRORS = errorCatalogue({
  invalid_query: { status: 400, means: 'a query parameter is invalid (`error` names it and says why)' },
});

/** Answers 400 `invalid_query`, naming each parameter and why. */
export function answerInvalidQuery(ctx: Context, error: z.ZodError): void {
  answerError(QUERY_ERRORS, ctx, 'invalid_query', error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
}
