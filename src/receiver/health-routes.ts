/**
 * GET /health: the process is alive. GET /ready: PostgreSQL and Temporal answer; 503 names the part that does not,
 * and only a request with an API token sees the error of each check.
 */
import Router from '@koa/router';
import type { z } from 'zod';
import { findApiToken } from '../auth/api-tokens';
import { healthSchema, readinessSchema } from './api-schemas';
import type { ReceiverDependencies } from './dependencies';
import { jsonAnswer, type ApiPaths } from './openapi';

const CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes({ orm, temporal, config }: ReceiverDependencies): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' } satisfies z.output<typeof healthSchema>;
  });
  router.get('/ready', async (ctx) => {
    const [postgresql, temporalCheck] = await Promise.all([
      check(() => orm.em.execute('select 1')),
      check(() => temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.connection.workflowService.getSystemInfo({}))),
    ]);
    const checks = { postgresql, temporal: temporalCheck };
    const failing = (['postgresql', 'temporal'] as const).filter((name) => checks[name] !== 'ok');
    ctx.status = failing.length ? 503 : 200;
    ctx.set('Cache-Control', 'no-store');
    // The error of each check only with an API token: it may name hosts, ports and internals.
    const detailed = findApiToken(ctx.get('authorization') || undefined, config.apiTokens) !== undefined;
    ctx.body = {
      status: failing.length ? 'not ready' : 'ready',
      failing,
      ...(detailed ? { checks } : {}),
    } satisfies z.output<typeof readinessSchema>;
  });
  return router;
}

export const healthPaths: ApiPaths = {
  '/health': {
    get: {
      operationId: 'getHealth',
      tags: ['operations'],
      summary: 'The process is alive',
      responses: { 200: jsonAnswer('Alive.', healthSchema) },
    },
  },
  '/ready': {
    get: {
      operationId: 'getReadiness',
      tags: ['operations'],
      summary: 'PostgreSQL and Temporal answer',
      description: 'With an API token (optional), the answer also has the error of each check.',
      security: [{}, { bearerAuth: [] }],
      responses: {
        200: jsonAnswer('Ready.', readinessSchema),
        503: jsonAnswer('Not ready: `failing` names the parts that do not answer.', readinessSchema),
      },
    },
  },
};

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}
