import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'dev', 'fake-calendly.ts');

function run(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT });
}

function exitOf(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('scripts/dev/fake-calendly.ts', () => {
  it('prints the base URL, serves the API with the given token and stops cleanly on SIGTERM', async () => {
    const child = run(['--port', '0', '--token', 'runner-token']);
    const exited = exitOf(child);
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(seen);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`exited before listening: ${seen}`)));
    });

    const me = await fetch(`${url}/users/me`, { headers: { Authorization: 'Bearer runner-token' } });
    expect(me.status).toBe(200);
    const denied = await fetch(`${url}/users/me`, { headers: { Authorization: 'Bearer other' } });
    expect(denied.status).toBe(401);

    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
  }, 30_000);

  it('serves the OAuth endpoints for the app given by --client-id, --client-secret and --redirect-uri', async () => {
    const child = run([
      '--port', '0',
      '--client-id', 'runner-client',
      '--client-secret', 'runner-secret',
      '--redirect-uri', 'http://127.0.0.1:3000/callback',
    ]);
    const exited = exitOf(child);
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*OAuth app runner-client/.exec(seen);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', () => reject(new Error(`exited before listening: ${seen}`)));
    });

    const params = new URLSearchParams({
      client_id: 'runner-client',
      response_type: 'code',
      redirect_uri: 'http://127.0.0.1:3000/callback',
    });
    const consent = await fetch(`${url}/oauth/authorize?${params.toString()}`);
    expect(consent.status).toBe(200);
    expect(await consent.text()).toContain('Allow');
    const wrongRedirect = await fetch(`${url}/oauth/authorize?${params.toString().replace('callback', 'elsewhere')}`);
    expect(wrongRedirect.status).toBe(400);

    child.kill('SIGTERM');
    expect((await exited).code).toBe(0);
  }, 30_000);

  it('prints usage for --help and refuses to start without a token', async () => {
    const help = await exitOf(run(['--help']));
    expect(help.code).toBe(0);
    expect(help.output).toContain('Usage: tsx scripts/dev/fake-calendly.ts');

    const missing = await exitOf(run(['--port', '0']));
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('--token is required');
  }, 30_000);
});
