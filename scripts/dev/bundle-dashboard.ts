/** `npm run bundle:dashboard`: the dashboard page's script for the browser (see dashboard-bundle.ts). */
import { resolve } from 'node:path';
import { runCli } from '../lib/cli';
import { bundleDashboard, DASHBOARD_SCRIPT } from './dashboard-bundle';

const USAGE = `Usage: npm run bundle:dashboard -- [--out <file>]

Bundles client/dashboard.ts and the live client it uses into one script for the browser. Run by npm start, npm test
and npm run build; run it yourself after changing them while the receiver runs from the sources.

  --out <file>  where to write it (default: ${DASHBOARD_SCRIPT})
  --help        show this help

Exit code: 0 written, 1 failed, 2 wrong usage.`;

runCli('bundle:dashboard', USAGE, { out: { type: 'string' } }, async ({ out }) => {
  const path = resolve(out ?? DASHBOARD_SCRIPT);
  await bundleDashboard(path);
  process.stdout.write(`Wrote the dashboard script to ${path}\n`);
  return 0;
});
