/**
 * The real receiver (src/receiver/main.ts) as a child process in its own process group, on this run's PostgreSQL and
 * Temporal: for tests that must see the process itself survive (or die), which an in-process system cannot show.
 */
import { join } from 'node:path';
import { freePort } from '../../scripts/lib/free-ports';
import { harness } from './harness';
import { spawnGroup, waitUntilGone, type GroupProcess } from './process-group';
import { API_TOKEN, SIGNING_KEY } from './system';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

export interface ReceiverProcess {
  process: GroupProcess;
  url: string;
  port: number;
  /** SIGKILL to its group, and wait until it is gone. */
  stop(): Promise<void>;
}

export async function startReceiverProcess(env: Record<string, string> = {}): Promise<ReceiverProcess> {
  const { databaseUrl, temporalAddress, namespace } = harness();
  const port = await freePort();
  const child = spawnGroup('receiver', TSX, ['src/receiver/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      API_URL: `http://127.0.0.1:${port}`,
      CALENDLY_WEBHOOK_SIGNING_KEY: SIGNING_KEY,
      CALENDLY_API_TOKEN: 'calendly-token',
      API_TOKENS: API_TOKEN,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      TEMPORAL_WEB_UI_URL: '',
      // Present, so that a .env in the working tree cannot fill them in (dotenv never overrides).
      REMINDER_WEBHOOK_URL: '',
      REMINDER_WEBHOOK_SECRET: '',
      FAKE_CALENDLY_PORT: '',
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  await child.waitForLine(/"msg":"Receiver listening"/, 60_000);
  return {
    process: child,
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      child.killGroup();
      await waitUntilGone([child.pid], [], 10_000);
    },
  };
}
