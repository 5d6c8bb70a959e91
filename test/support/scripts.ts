/**
 * Runs one of the project's scripts as a user does (through tsx), with PATH and the given settings only, from an
 * empty directory: a .env in the checkout (`npm start` creates one) is not read, so each test gives every setting
 * it relies on, and the quick start's `npm start` then `npm test` sees the same results as a fresh clone.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
}

// One per test file, removed after its tests.
const withoutDotenv = mkdtempSync(join(tmpdir(), 'script-run-'));
afterAll(() => rmSync(withoutDotenv, { recursive: true, force: true }));

/** `script`: its path under scripts/, e.g. `subscription-verify.ts`. */
export function runScript(script: string, args: string[], env: Record<string, string | undefined>): Promise<ScriptRun> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'node_modules', '.bin', 'tsx'),
      [join(ROOT, 'scripts', script), ...args],
      { cwd: withoutDotenv, env: { PATH: process.env.PATH, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}
