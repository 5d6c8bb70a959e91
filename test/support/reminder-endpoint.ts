/** A CRM-like endpoint receiving reminder webhooks: it verifies each signature and can fail the first requests. */
import { createServer } from 'node:http';
import { once } from 'node:events';
import { verifySignature } from '../../src/calendly/signature';

export interface ReceivedReminder {
  idempotencyKey: string;
  signatureValid: boolean;
  body: any;
  accepted: boolean;
}

export interface ReminderEndpoint {
  url: string;
  received: ReceivedReminder[];
  /** answer 500 to the next `count` requests */
  failNext(count: number): void;
  close(): Promise<void>;
}

export async function startReminderEndpoint(secret: string): Promise<ReminderEndpoint> {
  const received: ReceivedReminder[] = [];
  let failures = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks);
      const signature = verifySignature(raw, request.headers['reminder-signature'] as string | undefined, {
        signingKeys: [secret],
        toleranceSeconds: 180,
        nowSeconds: Math.floor(Date.now() / 1000),
      });
      const accepted = failures === 0;
      if (!accepted) failures--;
      received.push({ idempotencyKey: String(request.headers['idempotency-key']), signatureValid: signature === 'valid', body: JSON.parse(raw.toString()), accepted });
      response.writeHead(accepted ? 204 : 500).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/reminders`,
    received,
    failNext(count) {
      failures = count;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
