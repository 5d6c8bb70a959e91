import { z } from 'zod';
import { apiErrorSchema, collectionOf, inviteeSchema, resourceOf, scheduledEventSchema, userSchema, uuidOf } from '../../src/calendly/schemas';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';
import { CALENDLY_TIMESTAMP, call, query, TOKEN } from './helpers';

const NOT_FOUND = { title: 'Resource Not Found', message: 'The server could not find the requested resource.' };
const inviteeNoShowSchema = z.object({ uri: z.url(), invitee: z.url(), created_at: z.iso.datetime() });
const eventPage = collectionOf(scheduledEventSchema);
const inviteePage = collectionOf(inviteeSchema);

/** Every key Calendly's spec lists as required on the REST Invitee resource. */
const REQUIRED_INVITEE_KEYS = [
  'uri', 'email', 'first_name', 'last_name', 'name', 'status', 'questions_and_answers', 'timezone', 'event',
  'created_at', 'updated_at', 'tracking', 'text_reminder_number', 'rescheduled', 'old_invitee', 'new_invitee',
  'cancel_url', 'reschedule_url', 'routing_form_submission', 'payment', 'no_show', 'reconfirmation',
  'scheduling_method', 'invitee_scheduled_by',
];
const REQUIRED_EVENT_KEYS = [
  'uri', 'name', 'status', 'start_time', 'end_time', 'event_type', 'location', 'invitees_counter', 'created_at',
  'updated_at', 'event_memberships', 'event_guests', 'calendar_event',
];

let fake: FakeCalendly;

beforeEach(async () => {
  fake = await startFakeCalendly({ apiToken: TOKEN });
});

afterEach(async () => {
  await fake.close();
});

describe('authentication', () => {
  it.each([
    ['no token', null],
    ['a wrong token', 'not-the-token'],
  ])('answers 401 with Calendly body for %s, still with rate limit headers', async (_case, token) => {
    const response = await call(fake, '/users/me', { token });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ title: 'Unauthenticated', message: 'The access token is invalid' });
    expect(response.headers.get('x-ratelimit-limit')).toBe('500');
  });
});

describe('users', () => {
  it('serves /users/me and /users/{uuid} as {resource: User} of the organization', async () => {
    const me = resourceOf(userSchema).parse((await call(fake, '/users/me')).body).resource;
    expect(me.uri).toBe(fake.userUri);
    expect(me.current_organization).toBe(fake.organizationUri);
    expect(me.created_at).toMatch(CALENDLY_TIMESTAMP);
    expect(me.avatar_url).toBeNull();

    const byUri = await call(fake, fake.userUri);
    expect(byUri.status).toBe(200);
    expect(resourceOf(userSchema).parse(byUri.body).resource).toEqual(me);
  });

  it('makes a booking host other than the owner a fetchable user of the organization', async () => {
    const { event } = await fake.bookMeeting({
      email: 'a@example.com',
      startTime: '2026-03-10T14:00:00Z',
      host: { name: 'Sam Rivera', email: 'sam@example.com' },
    });
    const [membership] = event.event_memberships;
    expect(membership).toMatchObject({ user_name: 'Sam Rivera', user_email: 'sam@example.com' });
    const host = resourceOf(userSchema).parse((await call(fake, membership.user)).body).resource;
    expect(host).toMatchObject({ name: 'Sam Rivera', email: 'sam@example.com', current_organization: fake.organizationUri });
  });

  it('answers 404 for an unknown user', async () => {
    const response = await call(fake, '/users/0b0d1c5e-0000-4000-8000-000000000000');
    expect(response.status).toBe(404);
    expect(response.body).toEqual(NOT_FOUND);
  });
});

describe('scheduled events and invitees', () => {
  it('serves a booked event and invitee at their URIs with every required key and Calendly timestamps', async () => {
    const { event, invitee } = await fake.bookMeeting({
      email: 'jane.doe@example.com',
      startTime: '2026-03-10T15:00:00+01:00',
      questionsAndAnswers: [{ question: 'Company', answer: 'Acme\nEurope' }],
      tracking: { utm_source: 'newsletter' },
    });

    const eventResponse = await call(fake, event.uri);
    expect(eventResponse.status).toBe(200);
    const served = resourceOf(scheduledEventSchema).parse(eventResponse.body).resource;
    expect(served).toEqual(event);
    expect(Object.keys(served)).toEqual(expect.arrayContaining(REQUIRED_EVENT_KEYS));
    expect(served.uri).toBe(`${fake.url}/scheduled_events/${uuidOf(event.uri)}`);
    expect(served.start_time).toBe('2026-03-10T14:00:00.000000Z');
    expect(served.end_time).toBe('2026-03-10T14:30:00.000000Z');
    expect(served.created_at).toMatch(CALENDLY_TIMESTAMP);

    const inviteeResponse = await call(fake, invitee.uri);
    expect(inviteeResponse.status).toBe(200);
    const servedInvitee = resourceOf(inviteeSchema).parse(inviteeResponse.body).resource;
    expect(Object.keys(servedInvitee)).toEqual(expect.arrayContaining(REQUIRED_INVITEE_KEYS));
    const inviteeUuid = uuidOf(invitee.uri);
    expect(servedInvitee).toMatchObject({
      uri: `${event.uri}/invitees/${inviteeUuid}`,
      event: event.uri,
      email: 'jane.doe@example.com',
      name: 'Jane Doe',
      first_name: null,
      last_name: null,
      status: 'active',
      questions_and_answers: [{ question: 'Company', answer: 'Acme\nEurope', position: 0 }],
      tracking: {
        utm_campaign: null,
        utm_source: 'newsletter',
        utm_medium: null,
        utm_content: null,
        utm_term: null,
        salesforce_uuid: null,
      },
      cancel_url: `https://calendly.com/cancellations/${inviteeUuid}`,
      reschedule_url: `https://calendly.com/reschedulings/${inviteeUuid}`,
      rescheduled: false,
      old_invitee: null,
      new_invitee: null,
      payment: null,
      no_show: null,
      reconfirmation: null,
    });
    expect(servedInvitee).not.toHaveProperty('cancellation');
    expect(servedInvitee.created_at).toMatch(CALENDLY_TIMESTAMP);
  });

  it('answers 404 for an unknown event, and for an invitee under another event', async () => {
    const first = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });
    const second = await fake.bookMeeting({ email: 'b@example.com', startTime: '2026-03-11T14:00:00Z' });

    const unknown = await call(fake, '/scheduled_events/5b1d4c0e-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(NOT_FOUND);

    const crossed = await call(fake, `${second.event.uri}/invitees/${uuidOf(first.invitee.uri)}`);
    expect(crossed.status).toBe(404);
    expect(crossed.body).toEqual(NOT_FOUND);

    const unknownRoute = await call(fake, '/event_types_nonexistent');
    expect(unknownRoute.status).toBe(404);
    expect(unknownRoute.body).toEqual(NOT_FOUND);
  });

  it('answers 400 Invalid Argument with details when neither user nor organization is given', async () => {
    const response = await call(fake, '/scheduled_events');
    expect(response.status).toBe(400);
    const error = apiErrorSchema.parse(response.body);
    expect(error).toMatchObject({ title: 'Invalid Argument', message: 'The supplied parameters are invalid.' });
    expect(error.details?.length).toBeGreaterThan(0);
  });

  it.each(['0', '101', 'ten'])('answers 400 for count=%s', async (count) => {
    const response = await call(fake, `/scheduled_events?${query({ organization: fake.organizationUri, count })}`);
    expect(response.status).toBe(400);
    expect(apiErrorSchema.parse(response.body).details).toEqual([expect.objectContaining({ parameter: 'count' })]);
  });

  it('filters by status, invitee_email, start time range and user, and sorts by start_time', async () => {
    const early = await fake.bookMeeting({ email: 'early@example.com', startTime: '2026-03-10T09:00:00Z' });
    const late = await fake.bookMeeting({ email: 'late@example.com', startTime: '2026-03-12T09:00:00Z' });
    const middle = await fake.bookMeeting({ email: 'middle@example.com', startTime: '2026-03-11T09:00:00Z' });
    const other = await fake.bookMeeting({
      email: 'other@example.com',
      startTime: '2026-03-13T09:00:00Z',
      host: { name: 'Sam Rivera', email: 'sam@example.com' },
    });
    await fake.cancelInvitee(late.invitee.uri);

    const list = async (params: Record<string, string>) => {
      const response = await call(fake, `/scheduled_events?${query({ organization: fake.organizationUri, ...params })}`);
      expect(response.status).toBe(200);
      return eventPage.parse(response.body).collection.map((event) => event.uri);
    };

    expect(await list({})).toEqual([early.event.uri, middle.event.uri, late.event.uri, other.event.uri]);
    expect(await list({ sort: 'start_time:desc' })).toEqual([other.event.uri, late.event.uri, middle.event.uri, early.event.uri]);
    expect(await list({ status: 'canceled' })).toEqual([late.event.uri]);
    expect(await list({ status: 'active' })).toEqual([early.event.uri, middle.event.uri, other.event.uri]);
    expect(await list({ invitee_email: 'middle@example.com' })).toEqual([middle.event.uri]);
    expect(
      await list({ min_start_time: '2026-03-11T00:00:00.000000Z', max_start_time: '2026-03-12T09:00:00.000000Z' }),
    ).toEqual([middle.event.uri]);
    expect(await list({ user: fake.userUri })).toEqual([early.event.uri, middle.event.uri, late.event.uri]);

    const ownEvents = await call(fake, `/scheduled_events?${query({ user: fake.userUri })}`);
    expect(eventPage.parse(ownEvents.body).collection).toHaveLength(3);
  });

  it('walks every event exactly once through next_page links', async () => {
    const booked: string[] = [];
    for (let day = 1; day <= 7; day += 1) {
      const { event } = await fake.bookMeeting({
        email: `guest${day}@example.com`,
        startTime: `2026-04-0${day}T10:00:00Z`,
      });
      booked.push(event.uri);
    }

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let next: string | null = `${fake.url}/scheduled_events?${query({ organization: fake.organizationUri, count: '3' })}`;
    let previousPage: string | null = null;
    while (next !== null) {
      const response = await call(fake, next);
      expect(response.status).toBe(200);
      const { collection, pagination } = eventPage.parse(response.body);
      seen.push(...collection.map((event) => event.uri));
      pageSizes.push(collection.length);
      expect(pagination.count).toBe(collection.length);
      if (pagination.next_page !== null) {
        const nextUrl = new URL(pagination.next_page);
        expect(nextUrl.origin + nextUrl.pathname).toBe(`${fake.url}/scheduled_events`);
        expect(nextUrl.searchParams.get('count')).toBe('3');
        expect(nextUrl.searchParams.get('page_token')).toBe(pagination.next_page_token);
      } else {
        expect(pagination.next_page_token).toBeNull();
      }
      if (pageSizes.length === 2) previousPage = pagination.previous_page;
      next = pagination.next_page;
    }

    expect(pageSizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(booked);
    expect(previousPage).not.toBeNull();
    const back = eventPage.parse((await call(fake, previousPage!)).body);
    expect(back.collection.map((event) => event.uri)).toEqual(booked.slice(0, 3));
  });

  it('rejects a page_token used for another listing', async () => {
    for (const day of [1, 2]) await fake.bookMeeting({ email: 'a@example.com', startTime: `2026-04-0${day}T10:00:00Z` });
    const first = eventPage.parse(
      (await call(fake, `/scheduled_events?${query({ organization: fake.organizationUri, count: '1' })}`)).body,
    );
    const token = first.pagination.next_page_token!;
    const misused = await call(
      fake,
      `/scheduled_events?${query({ organization: fake.organizationUri, status: 'canceled', page_token: token })}`,
    );
    expect(misused.status).toBe(400);
    expect(apiErrorSchema.parse(misused.body).details).toEqual([expect.objectContaining({ parameter: 'page_token' })]);
  });

  it('lists the invitees of an event with status, email, sort and pagination', async () => {
    const { event } = await fake.bookMeeting({ email: 'one@example.com', startTime: '2026-05-01T10:00:00Z' });
    const emails = ['two@example.com', 'three@example.com', 'four@example.com'];
    const invitees: string[] = [];
    for (const email of emails) {
      invitees.push((await fake.bookMeeting({ email, startTime: event.start_time, eventUri: event.uri })).invitee.uri);
    }
    await fake.cancelInvitee(invitees[0]);

    const path = `${event.uri}/invitees`;
    const firstPage = inviteePage.parse((await call(fake, `${path}?count=2`)).body);
    expect(firstPage.collection.map((invitee) => invitee.email)).toEqual(['one@example.com', 'two@example.com']);
    const secondPage = inviteePage.parse((await call(fake, firstPage.pagination.next_page!)).body);
    expect(secondPage.collection.map((invitee) => invitee.email)).toEqual(['three@example.com', 'four@example.com']);
    expect(secondPage.pagination.next_page).toBeNull();

    const canceled = inviteePage.parse((await call(fake, `${path}?status=canceled`)).body);
    expect(canceled.collection.map((invitee) => invitee.email)).toEqual(['two@example.com']);
    const byEmail = inviteePage.parse((await call(fake, `${path}?email=four%40example.com`)).body);
    expect(byEmail.collection.map((invitee) => invitee.uri)).toEqual([invitees[2]]);
    const newestFirst = inviteePage.parse((await call(fake, `${path}?sort=created_at:desc`)).body);
    expect(newestFirst.collection[0]?.email).toBe('four@example.com');

    const badStatus = await call(fake, `${path}?status=gone`);
    expect(badStatus.status).toBe(400);
  });
});

describe('invitee no-shows', () => {
  it('creates (201), reads and deletes (204) a no-show, reflected on the invitee', async () => {
    const { invitee } = await fake.bookMeeting({ email: 'a@example.com', startTime: '2026-03-10T14:00:00Z' });

    const created = await call(fake, '/invitee_no_shows', { method: 'POST', body: { invitee: invitee.uri } });
    expect(created.status).toBe(201);
    const noShow = resourceOf(inviteeNoShowSchema).parse(created.body).resource;
    expect(noShow.invitee).toBe(invitee.uri);
    expect(noShow.uri).toMatch(new RegExp(`^${fake.url}/invitee_no_shows/[0-9a-f-]{36}$`));

    const read = await call(fake, noShow.uri);
    expect(resourceOf(inviteeNoShowSchema).parse(read.body).resource).toEqual(noShow);
    const marked = resourceOf(inviteeSchema).parse((await call(fake, invitee.uri)).body).resource;
    expect(marked.no_show).toEqual({ uri: noShow.uri, created_at: noShow.created_at });

    const twice = await call(fake, '/invitee_no_shows', { method: 'POST', body: { invitee: invitee.uri } });
    expect(twice.status).toBe(409);

    const deleted = await call(fake, noShow.uri, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect((await call(fake, noShow.uri)).status).toBe(404);
    const unmarked = resourceOf(inviteeSchema).parse((await call(fake, invitee.uri)).body).resource;
    expect(unmarked.no_show).toBeNull();
  });

  it('answers 400 without an invitee and 404 for an unknown one', async () => {
    const missing = await call(fake, '/invitee_no_shows', { method: 'POST', body: {} });
    expect(missing.status).toBe(400);
    expect(apiErrorSchema.parse(missing.body).details).toEqual([{ parameter: 'invitee', message: 'is missing' }]);

    const unknown = await call(fake, '/invitee_no_shows', {
      method: 'POST',
      body: { invitee: `${fake.url}/scheduled_events/x/invitees/5b1d4c0e-0000-4000-8000-000000000000` },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(NOT_FOUND);
  });
});
