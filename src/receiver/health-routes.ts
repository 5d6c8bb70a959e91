/**
 * GET /health: the process is alive. GET /ready: PostgreSQL and Temporal answer; 503 names the part that does not,
 * and only a request with an API token sees the error of each check.
 */
import Router from '@koa/router';
import { findApiToken } from '../auth/api-tokens';
import type { ReceiverDependencies } from './dependencies';

const CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes({ orm, temporal, config }: ReceiverDependencies): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    const [postgresql, temporalCheck] = await Promise.all([
      check(() => orm.em.execute('select 1')),
      check(() => temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.connection.workflowService.getSystemInfo({}))),
    ]);
    const checks = { postgresql, temporal: temporalCheck };
    const failing = Object.entries(checks)
      .filter(([, result]) => result !== 'ok')
      .map(([name]) => name);
    ctx.status = failing.length ? 503 : 200;
    ctx.set('Cache-Control', 'no-store');
    // The error of each check only with an API token: it may name hosts, ports and internals.
    const detailed = findApiToken(ctx.get('authorization') || undefined, config.apiTokens) !== undefined;
    ctx.body = { status: failing.length ? 'not ready' : 'ready', failing, ...(detailed ? { checks } : {}) };
  });
  return router;
}

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
