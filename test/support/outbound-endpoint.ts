/** A CRM-like endpoint receiving outbound event webhooks: it records each request and answers as told. */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { verifySignature } from '../../src/calendly/signature';

export interface ReceivedWebhook {
  idempotencyKey: string;
  signature: string | undefined;
  raw: Buffer;
  body: any;
  status: number;
}

export interface OutboundEndpointServer {
  url: string;
  received: ReceivedWebhook[];
  /** the 2xx-answered requests */
  accepted(): ReceivedWebhook[];
  /** answer these statuses to the next requests, in order, then `status` */
  answerNext(...statuses: number[]): void;
  /** what it answers when nothing is queued (204 at first) */
  status: number;
  /** keep the next requests unanswered (a slow or dead endpoint) until release() */
  hold(): void;
  release(): void;
  /** the most requests it held unanswered at once */
  mostHeldAtOnce: number;
  close(): Promise<void>;
}

export async function startOutboundEndpoint(): Promise<OutboundEndpointServer> {
  const received: ReceivedWebhook[] = [];
  const queued: number[] = [];
  const endpoint = { status: 204, mostHeldAtOnce: 0 } as OutboundEndpointServer;
  let held: (() => void)[] | undefined;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const status = queued.shift() ?? endpoint.status;
      const signature = request.headers['webhook-signature'] as string | undefined;
      const answer = () => {
        received.push({ idempotencyKey: String(request.headers['idempotency-key']), signature, raw, body: JSON.parse(raw.toString()), status });
        response.writeHead(status).end();
      };
      if (!held) return answer();
      held.push(answer);
      endpoint.mostHeldAtOnce = Math.max(endpoint.mostHeldAtOnce, held.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return Object.assign(endpoint, {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    received,
    accepted: () => received.filter(({ status }) => status >= 200 && status < 300),
    answerNext: (...statuses: number[]) => void queued.push(...statuses),
    hold: () => void (held ??= []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      for (const answer of waiting) answer();
    },
    close: () => {
      endpoint.release();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Whether a request's `Webhook-Signature` is valid for the endpoint's secret, as a receiver checks it. */
export function signedWith(webhook: ReceivedWebhook, secret: string): boolean {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return verifySignature(webhook.raw, webhook.signature, { signingKeys: [secret], toleranceSeconds: 300, nowSeconds }) === 'valid';
}
