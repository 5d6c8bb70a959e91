/** A request's JSON body, read with a size limit: for the routes that take one. */
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { answerError, errorCatalogue } from './api-errors';

const MAX_BODY_BYTES = 16 * 1024;

export const JSON_BODY_ERRORS = errorCatalogue({
  invalid_body: { status: 400, means: 'the body is not valid JSON, or not what the route takes (`error` says why)' },
  payload_too_large: { status: 413, means: `the body is over ${MAX_BODY_BYTES / 1024} KiB` },
});

/** The parsed JSON body (at most 16 KiB), or undefined when it was refused (answered 400 or 413). */
export async function jsonBody(ctx: Context): Promise<unknown> {
  try {
    return JSON.parse(await getRawBody(ctx.req, { limit: MAX_BODY_BYTES, length: ctx.request.length, encoding: 'utf8' })) as unknown;
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') {
      return void answerError(JSON_BODY_ERRORS, ctx, 'payload_too_large', `Body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    return void answerError(JSON_BODY_ERRORS, ctx, 'invalid_body', 'The body is not valid JSON');
  }
}
