/**
 * npm run api-tokens -- issue --organization <org> [--label <text>] | list [--organization <org>] | revoke <id>
 * API tokens per organization, besides those in API_TOKENS (see docs/api.md, "Authentication").
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { hashApiToken, newIssuedApiToken } from '../src/auth/api-tokens';
import { databaseConfigFromEnvironment } from '../src/config';
import { insertApiToken, listApiTokens, revokeApiToken, type IssuedApiToken } from '../src/database/api-tokens';
import { ormConfig } from '../src/database/orm-config';
import { runCli, UsageError } from './lib/cli';

const USAGE = `Usage: npm run api-tokens -- <command>

API tokens for one organization each, besides those in API_TOKENS: a token reads only its organization's data, in
the read API, the dashboard and the websocket. Only a hash of a token is stored; the token itself is printed once.

  issue --organization <org> [--label <text>]
                                 issue a token for the organization (as in API_TOKENS' token:<organization>, e.g.
                                 https://api.calendly.com/organizations/…) and print it, once
  list [--organization <org>]    the tokens, without their secret: id, organization, label, created, last used
                                 (noted at most once a minute) and revoked
  revoke <id>                    revoke a token: the next request with it answers 401, and the websockets opened
                                 with it are closed (code 4401) by every receiver
  --help                         show this help

Exit code: 0 done, 1 no token with that id or another failure, 2 wrong usage, 78 configuration error.`;

const organization = z
  .string()
  .min(1)
  .max(1000)
  .regex(/^\S+$/, 'must not contain spaces or control characters');
const label = z
  .string()
  .min(1)
  .max(200)
  .refine((value) => !/\p{Cc}/u.test(value), 'must not contain control characters');

/** A value from the command line, or a UsageError that says which one is wrong. */
function valid<T>(schema: z.ZodType<T>, name: string, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`${name}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
  return result.data;
}

const OPTIONS = { organization: { type: 'string' }, label: { type: 'string' } } as const;

runCli(
  'api-tokens',
  USAGE,
  OPTIONS,
  async (values, [command, ...rest]) => {
    const unexpected = (what: string) => new UsageError(`${command}: ${what}`);
    if (command === 'issue') {
      if (rest.length) throw unexpected(`unexpected argument ${rest[0]}`);
      if (values.organization === undefined) throw unexpected('--organization <org> is required');
      const token = { organization: valid(organization, '--organization', values.organization), label: valid(label.optional(), '--label', values.label) };
      return withDatabase(async (orm) => {
        const clear = newIssuedApiToken();
        const issued = await insertApiToken(orm.em.fork(), { ...token, tokenHash: hashApiToken(clear) });
        process.stdout.write(
          [
            `id            ${issued.id}`,
            `organization  ${issued.organization}`,
            `label         ${issued.label ?? '-'}`,
            `token         ${clear}`,
            '',
            'The token is shown only now: only its hash is stored. Give it to the frontend as a secret.',
            '',
          ].join('\n'),
        );
        return 0;
      });
    }
    if (command === 'list') {
      if (rest.length) throw unexpected(`unexpected argument ${rest[0]}`);
      if (values.label !== undefined) throw unexpected('--label is for issue');
      const only = values.organization === undefined ? undefined : valid(organization, '--organization', values.organization);
      return withDatabase(async (orm) => {
        const tokens = await listApiTokens(orm.em.fork(), only);
        process.stdout.write(tokens.length ? table(tokens) : `No API tokens${only ? ` for ${only}` : ''}.\n`);
        return 0;
      });
    }
    if (command === 'revoke') {
      if (values.organization !== undefined || values.label !== undefined) throw unexpected('takes only the id of the token');
      if (rest.length !== 1) throw unexpected('give the id of one token (see list)');
      const id = valid(z.uuid(), 'id', rest[0]);
      return withDatabase(async (orm) => {
        const revoked = await revokeApiToken(orm.em.fork(), id);
        if (!revoked) {
          process.stderr.write(`No API token with id ${id} (see npm run api-tokens -- list).\n`);
          return 1;
        }
        const { token, alreadyRevoked } = revoked;
        process.stdout.write(
          alreadyRevoked
            ? `API token ${id} was already revoked at ${token.revokedAt?.toISOString()}.\n`
            : `Revoked API token ${id} of ${token.organization}: refused from now on, its websockets closed.\n`,
        );
        return 0;
      });
    }
    throw new UsageError(command === undefined ? 'Which command: issue, list or revoke?' : `Unknown command: ${command}`);
  },
  { allowPositionals: true },
);

async function withDatabase(work: (orm: MikroORM) => Promise<number>): Promise<number> {
  const { databaseUrl } = databaseConfigFromEnvironment();
  const orm = await MikroORM.init(ormConfig(databaseUrl, { pool: { min: 0, max: 1 } }));
  try {
    return await work(orm);
  } finally {
    await orm.close();
  }
}

function table(tokens: IssuedApiToken[]): string {
  const time = (date: Date | null) => date?.toISOString() ?? '-';
  const rows = [
    ['id', 'organization', 'label', 'created', 'last used', 'revoked'],
    ...tokens.map((token) => [token.id, token.organization, token.label ?? '-', time(token.createdAt), time(token.lastUsedAt), time(token.revokedAt)]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join('  ').trimEnd()).join('\n') + '\n';
}
