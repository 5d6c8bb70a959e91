/**
 * Bundles the workflow code for the worker, once, at build time (`npm run build` runs the compiled script): the
 * worker then loads the file instead of running webpack at every start. Not used at runtime.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createLogger } from '../src/logger';
import { bundleWorkflows, PREBUILT_WORKFLOW_BUNDLE } from '../src/worker/workflow-bundle';
import { runCli, UsageError } from './lib/cli';

const USAGE = `Usage: node dist/scripts/build-workflow-bundle.js [--out <file>]

Bundles workflows (as compiled next to this script) with an inline source map and writes it where the
compiled worker looks for it, or to --out (then point the worker at it with WORKFLOW_BUNDLE_PATH).
Part of npm run build.

  --out <file>  where to write the bundle (default: next to the compiled worker)
  --help        show this help

Exit code: 0 written, 1 failed, 2 wrong usage.`;

runCli('build-workflow-bundle', USAGE, { out: { type: 'string' } }, async ({ out }) => {
  // Run from the TypeScript sources, the default would drop the bundle into src/worker, where the worker would use it.
  if (out === undefined && __filename.endsWith('.ts')) throw new UsageError('--out is required when not run as compiled JavaScript');
  const path = resolve(out ?? PREBUILT_WORKFLOW_BUNDLE);
  const { code } = await bundleWorkflows(createLogger('warn', 'build'));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  process.stdout.write(`Wrote the workflow bundle to ${path} (${Math.round(code.length / 1024)} KiB)\n`);
  return 0;
});
