/**
 * The production build (tsconfig.build.json, what the image ships) holds no test double and no dev-only tool,
 * also not through an import: tsc lists every file the program takes in, imported ones included.
 */
import { execFile } from 'node:child_process';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..');

let built: string[];
beforeAll(async () => {
  const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json', '--listFilesOnly'], {
    cwd: ROOT,
  });
  built = stdout
    .split('\n')
    .filter(Boolean)
    .map((file) => relative(ROOT, file).split(sep).join('/'))
    .filter((file) => !file.startsWith('node_modules/'));
}, 60_000);

it('compiles both processes', () => {
  expect(built).toEqual(expect.arrayContaining(['src/receiver/main.ts', 'src/worker/main.ts']));
});

it('leaves out the fake Calendly API, the tests and the local dev tools', () => {
  expect(built.filter((file) => /^(fake-calendly|test|scripts\/dev)\//.test(file))).toEqual([]);
});
