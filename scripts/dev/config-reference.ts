/**
 * docs/configuration.md, written from the settings' schemas (src/config-sections.ts): each section's variables with
 * their defaults and descriptions. `npm run docs:config` writes it; test/config-reference.fast.test.ts fails while it is
 * stale.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { SECTIONS } from '../../src/config-sections';

export const CONFIGURATION_REFERENCE = join(__dirname, '..', '..', 'docs', 'configuration.md');

/** Every variable the configuration reads, in the reference's order. */
export const CONFIGURATION_VARIABLES = Object.values(SECTIONS).flatMap((section) => Object.keys(section.variables));

const INTRO = `# Configuration

<!-- Generated from src/config-sections.ts by \`npm run docs:config\`: change the schemas there, then run it. -->

Every setting is an environment variable, read and validated in one place, \`src/config.ts\`, from the environment
and \`.env\` (which \`npm start\` copies from \`.env.example\` on first run; a variable already in the environment wins).
An empty value counts as unset. Wrong values stop start-up with one line that names every problem and how to fix it
(exit code 78).

The secrets in \`.env.example\` are public, for a local trial: whenever \`API_URL\` is not a loopback address
(127.0.0.0/8, \`localhost\`, \`::1\`), its signing key, API token and reminder secret are refused, and so is any
\`CALENDLY_WEBHOOK_SIGNING_KEY\` or \`API_TOKENS\` entry shorter than 32 characters. Generate each with
\`openssl rand -hex 32\`; a new signing key is taken into use with \`npm run subscription:reconnect -- --recreate\`.`;

const OUTSIDE = `## Outside the configuration

The setup (\`npm run setup\`, also run by \`npm start\` and \`npm test\`) reads \`TEMPORAL_BIN\`, which \`src/config.ts\` does not:
a Temporal CLI to use instead of building one.

## Adding a setting

Give it a schema, with its default and \`.meta({ description })\`, in its section of \`src/config-sections.ts\`, and
put its value into the section's part of \`Config\` in that section's \`build\`; a check against another variable is
one of the section's \`rules\`. Then add it to \`.env.example\` and run \`npm run docs:config\`:
\`test/config-reference.fast.test.ts\` fails until both name it.`;

/** Its default, `required`, or what unset means (the schema's `unset` note, else `unset`). */
function defaultOf(schema: z.ZodType): string {
  const input = (inner: z.ZodType): z.ZodType => (inner instanceof z.ZodPipe ? input(inner.in as z.ZodType) : inner);
  const outer = input(schema);
  if (outer instanceof z.ZodDefault) {
    const value: unknown = outer.def.defaultValue;
    return value === '' ? 'empty' : `\`${String(value)}\``;
  }
  if (outer instanceof z.ZodOptional) return schema.meta()?.unset ?? 'unset';
  return 'required';
}

function row(variable: string, schema: z.ZodType): string {
  const description = schema.meta()?.description;
  if (!description) throw new Error(`${variable} has no description: add .meta({ description }) to its schema in src/config-sections.ts`);
  return `| \`${variable}\` | ${defaultOf(schema)} | ${description.replaceAll('|', '\\|')} |`;
}

/** The section's heading as GitHub anchors it. */
const anchor = (title: string) => `#${title.toLowerCase().replace(/[^a-z0-9 -]/g, '').replaceAll(' ', '-')}`;

export function configurationReference(): string {
  const contents = `Sections: ${Object.values(SECTIONS)
    .map(({ title }) => `[${title}](${anchor(title)})`)
    .join(', ')}.`;
  const sections = Object.values(SECTIONS).map(({ title, description, variables }) =>
    [`## ${title}`, '', description, '', '| variable | default | meaning |', '|---|---|---|', ...Object.entries<z.ZodType>(variables).map(([variable, schema]) => row(variable, schema))].join('\n'),
  );
  return `${[INTRO, contents, ...sections, OUTSIDE].join('\n\n')}\n`;
}
