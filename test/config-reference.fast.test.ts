/**
 * docs/configuration.md is generated from the settings' schemas (npm run docs:config) and .env.example is written by
 * hand: both must name exactly the variables the configuration reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIGURATION_REFERENCE, CONFIGURATION_VARIABLES, configurationReference } from '../scripts/dev/config-reference';

it('docs/configuration.md is the reference the schemas give, with every variable (else: npm run docs:config)', () => {
  const reference = readFileSync(CONFIGURATION_REFERENCE, 'utf8');
  expect(reference).toBe(configurationReference());
  const documented = [...reference.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map(([, variable]) => variable);
  expect(documented).toEqual(CONFIGURATION_VARIABLES);
});

it('.env.example names every variable of the configuration and no other, set or commented out', () => {
  const example = readFileSync(join(__dirname, '..', '.env.example'), 'utf8');
  const named = [...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map(([, variable]) => variable);
  expect(named.filter((variable) => !CONFIGURATION_VARIABLES.includes(variable))).toEqual([]);
  expect(CONFIGURATION_VARIABLES.filter((variable) => !named.includes(variable))).toEqual([]);
});
