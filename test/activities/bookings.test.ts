/**
 * Personal data stays out of errors and logs: a database error carrying an invitee's email (in the driver's message,
 * with the query's values, and in PostgreSQL's detail) leaves saveBookings, and reaches a log line, without it.
 */
import { Writable } from 'node:stream';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createBookingActivities } from '../../activities/bookings';
import { sanitizedActivityError } from '../../activities';
import { CalendlyAccounts } from '../../activities/calendly-accounts';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';
import { createLogger } from '../../src/logger';
import { booking, newOrganization, openOrm } from '../database/database';

let orm: MikroORM;
beforeAll(async () => {
  orm = await openOrm();
});
afterAll(() => orm.close());

/** A constraint only this test's email breaks: PostgreSQL's detail then holds the failing row, email included. */
const REFUSED_DOMAIN = `refused-${Date.now()}.example`;
const CONSTRAINT = `test_refuses_${Date.now()}`;

async function withRefusingConstraint(work: () => Promise<void>) {
  await orm.em.fork().execute(`alter table leads add constraint ${CONSTRAINT} check (email not like '%@${REFUSED_DOMAIN}') not valid`);
  try {
    await work();
  } finally {
    await orm.em.fork().execute(`alter table leads drop constraint ${CONSTRAINT}`);
  }
}

function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger('info', 'test', destination), lines };
}

it('reduces a constraint violation to its code, table and constraint: no email in the failure or the log', async () => {
  const email = `ada.lovelace@${REFUSED_DOMAIN}`;
  const phone = '+44 20 7946 0958';
  const stored = booking({ email, name: 'Ada Lovelace' });
  stored.invitee.text_reminder_number = phone;
  const { saveBookings } = createBookingActivities(orm, new CalendlyAccounts({ orm }));

  await withRefusingConstraint(async () => {
    // The driver's own error does carry it: that is what must not leave.
    const raw: unknown = await orm.em.fork().execute(`insert into leads (email, email_key, name, first_seen_at, last_seen_at) values (?, ?, 'x', now(), now())`, [email, email]).catch((error: unknown) => error);
    expect(String((raw as Error).message) + JSON.stringify(raw)).toContain(email);

    const failure: unknown = await new MockActivityEnvironment()
      .run(saveBookings, { bookings: [stored], organization: newOrganization(), connectionId: PERSONAL_TOKEN_CONNECTION_ID })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InvalidBookingData', nonRetryable: true });
    const message = (failure as ApplicationFailure).message;
    expect(message).toContain('23514');
    expect(message).toContain(CONSTRAINT);
    expect(JSON.stringify({ message, details: (failure as ApplicationFailure).details, stack: (failure as Error).stack })).not.toMatch(/ada\.lovelace|Lovelace|7946/);

    const { logger, lines } = capturedLogger();
    logger.error({ err: raw }, 'Activity failed');
    logger.warn({ error: raw, email, lead: { email, phone } }, `could not store ${email}`);
    const logged = lines.join('\n');
    expect(logged).toContain('23514');
    expect(logged).not.toMatch(/ada\.lovelace|7946/);
    expect(logged).toContain('[redacted]');
  });
});

it('keeps a retryable database error retryable, but says only its code and table', () => {
  const email = `grace@${REFUSED_DOMAIN}`;
  // What pg raises for an outage-like error, carrying values in its message and detail as drivers do.
  const driverError = Object.assign(new Error(`insert into leads values ('${email}') - could not serialize access`), {
    code: '40001',
    severity: 'ERROR',
    routine: 'xact',
    table: 'leads',
    detail: `Key (email_key)=(${email})`,
  });
  const failure = sanitizedActivityError(driverError);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'DatabaseError', nonRetryable: false, message: 'database error 40001 (serialization_failure) on table leads' });
  expect(sanitizedActivityError(new Error('network down'))).toEqual(new Error('network down'));
});
