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

  it('prints usage for --help and refuses to start without a token', async () => {
    const help = await exitOf(run(['--help']));
    expect(help.code).toBe(0);
    expect(help.output).toContain('Usage: tsx scripts/dev/fake-calendly.ts');

    const missing = await exitOf(run(['--port', '0']));
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('--token is required');
  }, 30_000);
});
