/** `npm run api-tokens` as an operator runs it, as a child process: issue, list and revoke against a running receiver. */
import { randomUUID } from 'node:crypto';
import { saveBookings } from '../../src/database/bookings';
import { booking, newEmail, newOrganization } from '../database/database';
import { openEventStream } from '../support/event-stream';
import { startTestSystem, type TestSystem } from '../support/system';
import { runScript, type ScriptRun } from '../support/scripts';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

let system: TestSystem;
beforeAll(async () => {
  system = await startTestSystem();
});
afterAll(() => system.stop());

/** Each test runs the command several times, each a new Node process with its TypeScript compiled on the fly. */
const COMMANDS_TIMEOUT_MS = 240_000;

function apiTokens(...args: string[]): Promise<ScriptRun> {
  const env = { DATABASE_URL: system.config.databaseUrl };
  return runScript('api-tokens.ts', args, env);
}

async function book(organization: string) {
  const [saved] = await saveBookings(system.orm.em.fork(), [booking({ email: newEmail('cli') })], organization, PERSONAL_TOKEN_CONNECTION_ID);
  return saved.meetingId;
}

it('shows its usage with --help, and refuses wrong usage with 2 and a reason', async () => {
  const [help, none, unknown, noOrganization, badOrganization, badId, badOption] = await Promise.all([
    apiTokens('--help'),
    apiTokens(),
    apiTokens('rotate'),
    apiTokens('issue'),
    apiTokens('issue', '--organization', 'has space'),
    apiTokens('revoke', 'not-an-id'),
    apiTokens('list', '--colour'),
  ]);
  expect(help).toMatchObject({ code: 0, stdout: expect.stringContaining('Usage: npm run api-tokens -- <command>') });
  expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining('Which command: issue, list or revoke?') });
  expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('Unknown command: rotate') });
  expect(noOrganization).toMatchObject({ code: 2, stderr: expect.stringContaining('--organization <org> is required') });
  expect(badOrganization).toMatchObject({ code: 2, stderr: expect.stringContaining('--organization: must not contain spaces') });
  expect(badId).toMatchObject({ code: 2, stderr: expect.stringContaining('id: ') });
  expect(badOption).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--colour'") });
}, COMMANDS_TIMEOUT_MS);

it("issues a token that reads its organization's data, lists it without its secret, and revokes it", async () => {
  const [acme, globex] = [newOrganization(), newOrganization()];
  const own = await book(acme);
  await book(globex);

  const issued = await apiTokens('issue', '--organization', acme, '--label', 'CRM sync');
  expect(issued).toMatchObject({ code: 0, stderr: '' });
  const token = /^token {9}(\S+)$/m.exec(issued.stdout)![1];
  const id = /^id {12}(\S+)$/m.exec(issued.stdout)![1];
  expect(token).toMatch(/^cbk_/);

  const meetings = await system.get('/api/meetings', token);
  expect(meetings.status).toBe(200);
  expect(meetings.body.data.map((meeting: { id: string }) => meeting.id)).toEqual([own]);

  const [listed, all, none] = await Promise.all([apiTokens('list', '--organization', acme), apiTokens('list'), apiTokens('list', '--organization', globex)]);
  expect(listed.code).toBe(0);
  const [header, row, ...more] = listed.stdout.trim().split('\n');
  expect(header.split(/\s{2,}/)).toEqual(['id', 'organization', 'label', 'created', 'last used', 'revoked']);
  expect(more).toEqual([]);
  expect(row.split(/\s{2,}/)).toEqual([id, acme, 'CRM sync', expect.stringMatching(/^\d{4}-/), expect.stringMatching(/^\d{4}-/), '-']);
  expect(listed.stdout).not.toContain(token.slice('cbk_'.length, 20));
  expect(all.stdout).toContain(id);
  expect(none.stdout).toBe(`No API tokens for ${globex}.\n`);

  const stream = await openEventStream(system.websocketUrl, { token });
  const revoked = await apiTokens('revoke', id);
  expect(revoked).toMatchObject({ code: 0, stdout: expect.stringContaining(`Revoked API token ${id} of ${acme}`) });
  expect(await stream.closedByServer()).toEqual({ code: 4401, reason: expect.stringContaining('revoked') });
  expect(await system.get('/api/meetings', token)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });

  const unknown = randomUUID();
  const [listedAfter, again, missing] = await Promise.all([apiTokens('list', '--organization', acme), apiTokens('revoke', id), apiTokens('revoke', unknown)]);
  expect(listedAfter.stdout.trim().split('\n')[1].split(/\s{2,}/)[5]).toMatch(/^\d{4}-/);
  expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('was already revoked at') });
  expect(missing).toMatchObject({ code: 1, stderr: `No API token with id ${unknown} (see npm run api-tokens -- list).\n` });
}, COMMANDS_TIMEOUT_MS);
