/**
 * The benchmark's refusal baseline, run as its own process like the receiver: a bare Koa app that reads the body,
 * checks its signature (the receiver's own HMAC check) and answers 401. The receiver refusing forged deliveries is
 * compared with it. Usage: bare-refusal-app.ts <port> <signing key>; prints "listening" once it serves.
 */
import Koa from 'koa';
import getRawBody from 'raw-body';
import { SIGNATURE_HEADER, verifySignature } from '../../../src/calendly/signature';

const [port, signingKey] = process.argv.slice(2);
const app = new Koa();
app.use(async (ctx) => {
  const body = await getRawBody(ctx.req, { limit: '1mb' });
  const outcome = verifySignature(body, ctx.get(SIGNATURE_HEADER), { signingKeys: [signingKey], toleranceSeconds: 180, nowSeconds: Math.floor(Date.now() / 1000) });
  ctx.status = outcome === 'valid' ? 202 : 401;
  ctx.body = { error: 'Invalid signature', code: `signature_${outcome}` };
});
const server = app.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
