/**
 * A Temporal dev server never outlives what started it (the test harness, `npm start`), even when that is killed
 * with SIGKILL and cannot stop it: a jest run killed in the middle must not leave a server behind.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../../scripts/lib/free-ports';
import { isAlive } from '../support/process-group';

const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;


it('ends when the process that started it is killed (SIGKILL)', async () => {
  const holder = spawn(process.execPath, ['--import', TSX_LOADER, join(__dirname, 'fixtures', 'hold-temporal-dev-server.ts'), String(await freePort())], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let serverPid: number | undefined;
  try {
    const [line] = (await once(holder.stdout, 'data')) as [Buffer];
    serverPid = Number(line.toString().trim());
    expect(isAlive(serverPid)).toBe(true);

    holder.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (isAlive(serverPid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isAlive(serverPid)).toBe(false);
  } finally {
    holder.kill('SIGKILL');
    if (serverPid && isAlive(serverPid)) process.kill(serverPid, 'SIGKILL');
  }
}, 60_000);
