/** GET /health: the process is alive. GET /ready: PostgreSQL and Temporal answer; 503 names the part that does not. */
import Router from '@koa/router';
import type { ReceiverDependencies } from './dependencies';

const CHECK_TIMEOUT_MS = 2_000;

export function healthRoutes({ orm, temporal }: ReceiverDependencies): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    const [postgresql, temporalCheck] = await Promise.all([
      check(() => orm.em.fork().execute('select 1')),
      check(() => temporal.connection.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.connection.workflowService.getSystemInfo({}))),
    ]);
    const checks = { postgresql, temporal: temporalCheck };
    const failing = Object.entries(checks)
      .filter(([, result]) => result !== 'ok')
      .map(([name]) => name);
    ctx.status = failing.length ? 503 : 200;
    ctx.body = failing.length ? { status: 'not ready', failing, checks } : { status: 'ready', checks };
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
