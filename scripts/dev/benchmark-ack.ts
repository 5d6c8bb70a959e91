/**
 * npm run benchmark:ack -- [--count 50] [--concurrency 1]
 * Measures how long the receiver takes to acknowledge a signed delivery (signature check + durable start in
 * Temporal) on a system started with `npm start`, and prints the figures. Each delivery is a new booking.
 */
import { configFromEnvironment } from '../../src/config';
import { runCli, UsageError } from '../lib/cli';
import { localTrial, NO_LOCAL_TRIAL } from './local-trial';

const USAGE = `Usage: npm run benchmark:ack -- [--count <deliveries>] [--concurrency <in flight>]

Needs the system started with \`npm start\` and the local fake Calendly API (FAKE_CALENDLY_PORT in .env).
  --count        deliveries to send, each a new booking (default 50)
  --concurrency  deliveries in flight at once (default 1)
  --help         show this help

Exit code: 0 when every delivery was acknowledged with 202, 1 otherwise, 2 wrong usage, 78 configuration error.`;

function positiveInteger(value: string, name: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--${name} must be a positive integer; got "${value}"`);
  return Number(value);
}

runCli('benchmark:ack', USAGE, { count: { type: 'string', default: '50' }, concurrency: { type: 'string', default: '1' } }, async (values) => {
  const count = positiveInteger(values.count, 'count');
  const concurrency = positiveInteger(values.concurrency, 'concurrency');
  const trial = localTrial(configFromEnvironment());
  if (!trial) {
    process.stderr.write(NO_LOCAL_TRIAL);
    return 1;
  }
  process.stdout.write(`Preparing ${count} signed deliveries in the fake Calendly API...\n`);
  const deliveries = [];
  for (let index = 0; index < count; index++) {
    const { invitee } = await trial.book({ email: `bench-${Date.now()}-${index}@example.com`, startTime: new Date(Date.now() + 86_400_000).toISOString() });
    deliveries.push(await trial.signedDelivery(invitee.uri));
  }

  process.stdout.write(`Sending them with concurrency ${concurrency}...\n`);
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  const queue = [...deliveries];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let delivery = queue.shift(); delivery; delivery = queue.shift()) {
        const { status, ms } = await trial.send(delivery);
        latencies.push(ms);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (quantile: number) => latencies[Math.min(latencies.length - 1, Math.floor(quantile * latencies.length))].toFixed(1);
  process.stdout.write(
    `acknowledged ${count} deliveries in ${seconds.toFixed(2)} s (${(count / seconds).toFixed(1)}/s); statuses ${JSON.stringify(Object.fromEntries(statuses))}\n` +
      `ack latency ms: min ${latencies[0].toFixed(1)}, p50 ${at(0.5)}, p95 ${at(0.95)}, max ${latencies.at(-1)!.toFixed(1)}\n`,
  );
  return statuses.get(202) === count ? 0 : 1;
});
