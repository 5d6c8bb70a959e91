/**
 * Bundles the dashboard page's script (client/dashboard.ts, with the live client it imports) into one file for the
 * browser, with esbuild. Done once: by `npm run build` into the build, by the setup of `npm start` and `npm test`,
 * and by the test setup, into src/receiver/dashboard/public/ (not in git), where the receiver serves it from.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..', '..');

/** Where the receiver run from the sources finds the script (next to index.html). */
export const DASHBOARD_SCRIPT = join(ROOT, 'src', 'receiver', 'dashboard', 'public', 'dashboard.js');

export async function bundleDashboard(outfile = DASHBOARD_SCRIPT): Promise<void> {
  await build({
    entryPoints: [join(ROOT, 'client', 'dashboard.ts')],
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    tsconfig: join(ROOT, 'client', 'tsconfig.json'),
    logLevel: 'warning',
  });
}
