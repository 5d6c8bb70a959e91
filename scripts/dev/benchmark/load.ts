/**
 * Load generation for the benchmark: plain node:http with keep-alive (lighter on the shared 2 cores than fetch), a
 * closed loop (a fixed number in flight) and an open loop (a fixed rate, whatever the answers take).
 */
import { Agent, request } from 'node:http';

export interface Answer {
  status: number;
  ms: number;
  body: string;
}

const newAgent = () => new Agent({ keepAlive: true, maxSockets: 64 });
let agent = newAgent();

/** A new pool for each loop: a socket left idle beyond the server's keep-alive timeout would be reset when reused. */
function freshConnections(): void {
  agent.destroy();
  agent = newAgent();
}

export function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const sentAt = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - sentAt, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

export interface LoopResult {
  count: number;
  seconds: number;
  perSecond: number;
  latenciesMs: number[];
  statuses: Record<string, number>;
}

/** Runs `count` operations with `concurrency` in flight; each resolves with the status it got (or 0) and its time. */
export async function closedLoop(count: number, concurrency: number, operation: (index: number) => Promise<{ status: number; ms: number }>): Promise<LoopResult> {
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  freshConnections();
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let index = next++; index < count; index = next++) {
        const { status, ms } = await operation(index);
        latenciesMs.push(ms);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - startedAt) / 1000;
  return { count, seconds, perSecond: count / seconds, latenciesMs, statuses };
}

/**
 * Starts `operation` `ratePerSecond` times a second for `seconds`, not waiting for earlier ones; resolves when all
 * ended. Once `stop` aborts no more are started (the first always is, so that a run has at least one).
 */
export async function openLoop(ratePerSecond: number, seconds: number, operation: (index: number) => Promise<void>, stop?: AbortSignal): Promise<void> {
  freshConnections();
  const total = Math.round(ratePerSecond * seconds);
  const startedAt = performance.now();
  const running: Promise<void>[] = [];
  for (let index = 0; index < total; index++) {
    const due = startedAt + (index * 1000) / ratePerSecond;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (index > 0 && stop?.aborted) break;
    running.push(operation(index));
  }
  await Promise.all(running);
}

/** Nearest-rank percentile of unsorted values; NaN for none. */
export function percentile(values: number[], fraction: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))];
}
