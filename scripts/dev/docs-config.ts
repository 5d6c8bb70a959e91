/** `npm run docs:config`: writes docs/configuration.md from the settings' schemas (see config-reference.ts). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runCli } from '../lib/cli';
import { CONFIGURATION_REFERENCE, configurationReference } from './config-reference';

const USAGE = `Usage: npm run docs:config

Writes docs/configuration.md, the reference of every setting, from the schemas in src/config-sections.ts. Run it
after changing a setting; npm test fails while the reference is stale.

  --help  show this help

Exit code: 0 written, 1 failed, 2 wrong usage.`;

runCli('docs:config', USAGE, {}, () => {
  mkdirSync(dirname(CONFIGURATION_REFERENCE), { recursive: true });
  writeFileSync(CONFIGURATION_REFERENCE, configurationReference());
  process.stdout.write(`Wrote ${CONFIGURATION_REFERENCE}\n`);
  return Promise.resolve(0);
});
