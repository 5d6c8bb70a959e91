import type { Context } from 'koa';
import { invalidArgument } from './errors';

/** Reads a JSON request body; an empty body reads as `{}`. */
export async function readJsonBody(ctx: Context): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalidArgument([{ message: 'The request body is not valid JSON' }]);
  }
}
