/**
 * Property-based test of POST /calendly/webhook (fast-check): 1,200 random requests (random and garbled
 * Calendly-Webhook-Signature headers, random content types and extra headers, random bytes, JSON, mutated real
 * Calendly envelopes, legacy envelopes, bodies over 1 MiB), a part of them validly signed with the configured key.
 *
 * Properties, for every request:
 *   - the receiver answers, and never with a 5xx;
 *   - a request that is not validly signed is never accepted (no 2xx): it gets a 4xx;
 *   - a validly signed request with Calendly's content type and at most 1 MiB is acknowledged with 2xx, whatever
 *     its body: what cannot be processed is kept as unprocessed (README, "Delivery log and replay").
 * Violations are collected over the whole run (with the fast-check seed) and reported by kind. The seed is new each
 * run, so runs add up to far more cases than one run sends; a failing seed is printed to replay it.
 */
import { Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { WEBHOOK_EVENTS } from '../../src/calendly/schemas';
import { signatureFor } from '../../src/calendly/signature';
import { parseDelivery, workflowIdFor } from '../../src/deliveries/parse';
import { MAX_BODY_BYTES } from '../../src/receiver/webhook-route';
import { inParallel } from '../support/in-parallel';
import { SIGNING_KEY, startTestSystem, type TestSystem } from '../support/system';
import { PERSONAL_TOKEN_CONNECTION_ID } from '../../src/workflow-ids';

jest.setTimeout(240_000);

const RUNS = 12;
const BATCH = 100; // RUNS x BATCH = 1,200 requests, of a new seed each run
const CONCURRENCY = 16;
const TOLERANCE_SECONDS = 180;

let system: TestSystem;
let realCreated: Record<string, any>;
let realCanceled: Record<string, any>;
let inviteeUri: string;

beforeAll(async () => {
  // The per-address limit of refused requests has its own test (refusals.test.ts); here every request must reach
  // the checks behind it, though all come from 127.0.0.1.
  system = await startTestSystem({ env: { WEBHOOK_REFUSALS_PER_MINUTE: '1000000' } });
  const { invitee } = await system.fake.bookMeeting(
    { email: `property-${Date.now()}@example.com`, name: 'Property Test', startTime: new Date(Date.now() + 5 * 86_400_000).toISOString() },
    { deliver: false },
  );
  inviteeUri = invitee.uri;
  realCreated = JSON.parse(system.fake.webhookDelivery('invitee.created', invitee.uri, SIGNING_KEY).body);
  await system.fake.cancelInvitee(invitee.uri, {}, { deliver: false });
  realCanceled = JSON.parse(system.fake.webhookDelivery('invitee.canceled', invitee.uri, SIGNING_KEY).body);
});
afterAll(async () => {
  agent.destroy();
  await system?.stop();
});

// ---- requests ----

/** How the signature header is made, at the moment the request is sent. Only `valid` and `valid-among-others` are signed. */
type SignatureKind =
  | { kind: 'valid'; skew: number }
  | { kind: 'valid-among-others'; skew: number; others: string[] }
  | { kind: 'wrong-key'; key: string }
  | { kind: 'expired'; by: number }
  | { kind: 'future'; by: number }
  | { kind: 'body-changed-after-signing'; change: number }
  | { kind: 'one-hex-digit-changed'; position: number }
  | { kind: 'v0-instead-of-v1' }
  | { kind: 'random'; header: string }
  | { kind: 'garbled'; t: string; v1: string; separator: string }
  | { kind: 'missing' };

const SIGNED = new Set(['valid', 'valid-among-others']);
const CALENDLY_CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8'];

interface RandomRequest {
  contentType: string | null;
  headers: Record<string, string>;
  body: Buffer;
  signature: SignatureKind;
  chunked: boolean;
  query: string;
}

const printable = fc.mapToConstant({ num: 95, build: (code) => String.fromCharCode(0x20 + code) });
const headerValue = fc.string({ unit: printable, maxLength: 200 }).map((value) => value.trim());
const hex = (length: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });
const RESERVED_HEADERS = ['host', 'content-length', 'transfer-encoding', 'connection', 'content-type', 'calendly-webhook-signature', 'expect', 'upgrade', 'keep-alive', 'te', 'trailer'];
const headerName = fc
  .oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,30}$/), fc.constantFrom('content-encoding', 'x-forwarded-for', 'accept', 'user-agent', 'authorization', 'calendly-webhook-signatures', 'x-calendly-signature'))
  .filter((name) => !RESERVED_HEADERS.includes(name));

const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CALENDLY_CONTENT_TYPES) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/vnd.calendly+json',
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'application/json;;;',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=xyz',
      'application/octet-stream',
      '*/*',
      '',
    ),
  },
  { weight: 1, arbitrary: headerValue },
  { weight: 1, arbitrary: fc.constant(null) },
);

const uuidish = fc.oneof(
  { weight: 4, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~%-]{1,40}$/) },
  { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '%00', 'a b', '', '/', '?x=1', '#frag', 'é', '\u0000') },
  { weight: 1, arbitrary: fc.string({ minLength: 300, maxLength: 1500 }) },
);

const uriArb = () =>
  fc.oneof(
    { weight: 4, arbitrary: fc.tuple(uuidish, uuidish).map(([event, invitee]) => `${system.fake.url}/scheduled_events/${event}/invitees/${invitee}`) },
    { weight: 1, arbitrary: fc.constant(inviteeUri) },
    { weight: 2, arbitrary: fc.webUrl() },
    { weight: 1, arbitrary: fc.constantFrom('http://example.com', 'https://api.calendly.com/', 'http://[::1]', 'http://a', 'mailto:x@y', 'http://a/invitees/', 'urn:x') },
    { weight: 1, arbitrary: fc.string() },
  );

const anyValue = () =>
  fc.oneof(
    uriArb(),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant(null),
    fc.integer(),
    fc.constantFrom(...WEBHOOK_EVENTS),
    fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  );

const PATHS = [
  ['event'],
  ['created_at'],
  ['created_by'],
  ['payload'],
  ['payload', 'uri'],
  ['payload', 'email'],
  ['payload', 'name'],
  ['payload', 'status'],
  ['payload', 'scheduled_event'],
  ['payload', 'scheduled_event', 'uri'],
  ['payload', 'scheduled_event', 'start_time'],
  ['payload', 'invitee'],
  ['payload', 'rescheduled'],
  ['payload', 'old_invitee'],
  ['payload', 'new_invitee'],
  ['payload', 'cancellation'],
  ['payload', 'updated_at'],
];

function withChanges(base: Record<string, any>, changes: [string[], unknown][]): Record<string, any> {
  const copy = structuredClone(base);
  for (const [path, value] of changes) {
    let node: any = copy;
    for (const key of path.slice(0, -1)) {
      if (node[key] === null || typeof node[key] !== 'object') node[key] = {};
      node = node[key];
    }
    const last = path.at(-1)!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return copy;
}

const mutatedEnvelope = () =>
  fc
    .tuple(
      fc.constantFrom('created', 'canceled', 'no-show'),
      fc.array(fc.tuple(fc.constantFrom(...PATHS), fc.option(anyValue(), { nil: undefined })), { maxLength: 3 }),
    )
    .map(([which, changes]) => {
      const base =
        which === 'created'
          ? realCreated
          : which === 'canceled'
            ? realCanceled
            : { event: 'invitee_no_show.created', created_at: realCreated.created_at, created_by: realCreated.created_by, payload: { invitee: inviteeUri } };
      return JSON.stringify(withChanges(base, changes));
    });

const legacyEnvelope = () =>
  fc
    .record({
      event: fc.oneof(fc.constantFrom('invitee.created', 'invitee.canceled'), fc.constantFrom(...WEBHOOK_EVENTS), fc.string()),
      time: fc.oneof(fc.date({ noInvalidDate: true }).map((date) => date.toISOString()), fc.string()),
      eventUuid: uuidish,
      inviteeUuid: uuidish,
      email: fc.oneof(fc.emailAddress(), fc.string()),
      name: fc.string({ unit: 'binary', maxLength: 30 }),
    })
    .map(({ event, time, eventUuid, inviteeUuid, email, name }) =>
      JSON.stringify({
        event,
        time,
        payload: {
          event: { uuid: eventUuid, start_time: time, end_time: time },
          invitee: { uuid: inviteeUuid, email, name },
        },
      }),
    );

const bodyArb = () =>
  fc.oneof(
    { weight: 6, arbitrary: mutatedEnvelope().map((text) => Buffer.from(text)) },
    { weight: 2, arbitrary: legacyEnvelope().map((text) => Buffer.from(text)) },
    { weight: 3, arbitrary: fc.json({ maxDepth: 3 }).map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }).map((text) => Buffer.from(text)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_048 }).map((bytes) => Buffer.from(bytes)) },
    {
      weight: 1,
      // JSON-ish: a real body cut short or with a byte replaced.
      arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([cut, byte]) => {
        const bytes = Buffer.from(JSON.stringify(realCreated));
        return cut % 2 ? bytes.subarray(0, cut % bytes.length) : Buffer.concat([bytes.subarray(0, cut % bytes.length), Buffer.from([byte]), bytes.subarray((cut % bytes.length) + 1)]);
      }),
    },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    // Rarely, more than 1 MiB (answered 413 whatever the signature).
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 40 }).map((n) => (n === 0 ? Buffer.alloc(MAX_BODY_BYTES + 1 + n, 0x7b) : Buffer.from('{}'))) },
  );

const signatureArb: fc.Arbitrary<SignatureKind> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -(TOLERANCE_SECONDS - 15), max: TOLERANCE_SECONDS - 15 }).map((skew) => ({ kind: 'valid' as const, skew })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ skew: fc.integer({ min: -60, max: 60 }), others: fc.array(hex(64), { minLength: 1, maxLength: 3 }) })
      .map(({ skew, others }) => ({ kind: 'valid-among-others' as const, skew, others })),
  },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: printable, minLength: 8, maxLength: 40 })
      .filter((key) => key !== SIGNING_KEY)
      .map((key) => ({ kind: 'wrong-key' as const, key })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 15, max: 10_000_000 }).map((by) => ({ kind: 'expired' as const, by })) },
  { weight: 1, arbitrary: fc.integer({ min: 15, max: 10_000_000 }).map((by) => ({ kind: 'future' as const, by })) },
  { weight: 1, arbitrary: fc.nat().map((change) => ({ kind: 'body-changed-after-signing' as const, change })) },
  { weight: 1, arbitrary: fc.nat({ max: 63 }).map((position) => ({ kind: 'one-hex-digit-changed' as const, position })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'v0-instead-of-v1' as const }) },
  { weight: 2, arbitrary: headerValue.map((header) => ({ kind: 'random' as const, header })) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        t: fc.oneof(fc.integer({ min: -1, max: 99_999_999_999 }).map(String), fc.string({ unit: printable, maxLength: 14 }), fc.constant('')),
        v1: fc.oneof(hex(64), hex(63), hex(65), fc.string({ unit: printable, maxLength: 70 })),
        separator: fc.constantFrom(',', ', ', ';', ' ', ',,', '&'),
      })
      .map(({ t, v1, separator }) => ({ kind: 'garbled' as const, t, v1, separator })),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'missing' as const }) },
);

const requestArb = () =>
  fc.record({
    contentType: contentTypeArb,
    headers: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
    body: bodyArb(),
    signature: signatureArb,
    chunked: fc.boolean(),
    query: fc.oneof({ weight: 9, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.webQueryParameters().map((query) => `?${query}`) }),
  });

/** The header and the bytes actually sent, made at send time so that `t` is current. */
function materialize(req: RandomRequest): { header: string | null; body: Buffer } {
  const now = Math.floor(Date.now() / 1000);
  const sig = req.signature;
  switch (sig.kind) {
    case 'valid':
      return { header: signatureFor(req.body, SIGNING_KEY, now + sig.skew), body: req.body };
    case 'valid-among-others': {
      const good = signatureFor(req.body, SIGNING_KEY, now + sig.skew);
      const [t, v1] = good.split(',');
      return { header: [t, ...sig.others.map((other) => `v1=${other}`), v1].join(','), body: req.body };
    }
    case 'wrong-key':
      return { header: signatureFor(req.body, sig.key, now), body: req.body };
    case 'expired':
      return { header: signatureFor(req.body, SIGNING_KEY, now - TOLERANCE_SECONDS - sig.by), body: req.body };
    case 'future':
      return { header: signatureFor(req.body, SIGNING_KEY, now + TOLERANCE_SECONDS + sig.by), body: req.body };
    case 'body-changed-after-signing': {
      const header = signatureFor(req.body, SIGNING_KEY, now);
      if (!req.body.length) return { header, body: Buffer.from(' ') };
      const changed = Buffer.from(req.body);
      const at = sig.change % changed.length;
      changed[at] = changed[at] ^ 0x01;
      return { header, body: changed };
    }
    case 'one-hex-digit-changed': {
      const header = signatureFor(req.body, SIGNING_KEY, now);
      const start = header.indexOf('v1=') + 3 + sig.position;
      const digit = header[start];
      return { header: header.slice(0, start) + (digit === '0' ? '1' : '0') + header.slice(start + 1), body: req.body };
    }
    case 'v0-instead-of-v1':
      return { header: signatureFor(req.body, SIGNING_KEY, now).replace('v1=', 'v0='), body: req.body };
    case 'random':
      return { header: sig.header || null, body: req.body };
    case 'garbled':
      return { header: `t=${sig.t}${sig.separator}v1=${sig.v1}`, body: req.body };
    case 'missing':
      return { header: null, body: req.body };
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

function send(req: RandomRequest): Promise<{ status: number | 'no-answer'; text: string; header: string | null; sent: Buffer }> {
  const { header, body } = materialize(req);
  const url = new URL(`${system.receiverUrl}/calendly/webhook${req.query}`);
  const headers: Record<string, string> = { ...req.headers };
  if (req.contentType !== null) headers['content-type'] = req.contentType;
  if (header !== null) headers['calendly-webhook-signature'] = header;
  if (!req.chunked) headers['content-length'] = String(body.length);
  return new Promise((resolve) => {
    const outgoing = request(url, { method: 'POST', headers, agent, timeout: 20_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), header, sent: body }));
      response.on('error', (error) => resolve({ status: 'no-answer', text: error.message, header, sent: body }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out after 20 s')));
    // A receiver may answer (413) and close before the whole body is sent: that answer counts.
    outgoing.on('error', (error) => resolve({ status: 'no-answer', text: error.message, header, sent: body }));
    if (req.chunked && body.length > 1) {
      outgoing.write(body.subarray(0, body.length >> 1));
      outgoing.end(body.subarray(body.length >> 1));
    } else {
      outgoing.end(body);
    }
  });
}

// ---- the property ----

function describeParse(body: Buffer): string {
  try {
    const parsed = parseDelivery(body, system.fake.url, PERSONAL_TOKEN_CONNECTION_ID);
    const workflowId = workflowIdFor(parsed.delivery.dedupKey);
    return `${parsed.kind}, workflow ID of ${workflowId.length} characters (${Buffer.byteLength(workflowId)} bytes)`;
  } catch (error) {
    return `parseDelivery throws: ${(error as Error).message.slice(0, 200)}`;
  }
}

interface Violation {
  rule: string;
  status: number | 'no-answer';
  answer: string;
  signature: string;
  header: string | null;
  contentType: string | null;
  body: string;
  /** For a diagnosis: how the product parses the body, and the workflow ID it derives. */
  parsed: string;
}

it('answers 1,200 random requests without a 5xx, accepts no forgery and acknowledges every signed Calendly delivery', async () => {
  const violations: Violation[] = [];
  const statuses: Record<string, number> = {};
  const figures = { requests: 0, signed: 0, signedAcknowledged: 0, refused: 0, unprocessedAnswers: 0 };
  const seed = randomBytes(4).readInt32LE();
  const started = Date.now();

  await fc.assert(
    fc.asyncProperty(fc.array(requestArb(), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
      await inParallel(batch, CONCURRENCY, async (req) => {
        const answer = await send(req);
        figures.requests++;
        statuses[String(answer.status)] = (statuses[String(answer.status)] ?? 0) + 1;
        const signed = SIGNED.has(req.signature.kind);
        const calendlyShaped = req.contentType !== null && CALENDLY_CONTENT_TYPES.includes(req.contentType) && answer.sent.length <= MAX_BODY_BYTES;
        const ok = typeof answer.status === 'number' && answer.status >= 200 && answer.status < 300;
        if (signed) figures.signed++;
        if (signed && ok) figures.signedAcknowledged++;
        if (!ok) figures.refused++;
        if (ok && answer.text.includes('"unprocessed"')) figures.unprocessedAnswers++;

        const rules: string[] = [];
        if (answer.status === 'no-answer') rules.push('no answer');
        else if (answer.status >= 500) rules.push(`${answer.status} answer`);
        if (ok && !signed) rules.push('forgery accepted');
        if (!signed && typeof answer.status === 'number' && answer.status < 400 && !ok) rules.push(`unsigned answered ${answer.status}, not 4xx`);
        if (signed && calendlyShaped && typeof answer.status === 'number' && !ok && answer.status < 500) rules.push(`signed delivery refused with ${answer.status}`);
        for (const rule of rules) {
          violations.push({
            rule,
            status: answer.status,
            answer: answer.text.slice(0, 300),
            signature: req.signature.kind,
            header: answer.header?.slice(0, 200) ?? null,
            contentType: req.contentType,
            parsed: describeParse(answer.sent),
            body: answer.sent.length > 600 ? `${answer.sent.length} bytes: ${JSON.stringify(answer.sent.subarray(0, 300).toString('latin1'))}…` : JSON.stringify(answer.sent.toString('latin1')),
          });
        }
      });
    }),
    { numRuns: RUNS, seed, endOnFailure: true },
  );

  const byRule = new Map<string, Violation[]>();
  for (const violation of violations) {
    const key = `${violation.rule} (${violation.answer.match(/"code":"([^"]+)"/)?.[1] ?? violation.answer.slice(0, 60)})`;
    byRule.set(key, [...(byRule.get(key) ?? []), violation]);
  }
  process.stdout.write(
    `\nWebhook property figures (fast-check seed ${seed}): ${JSON.stringify({ ...figures, statuses, seconds: Math.round((Date.now() - started) / 100) / 10 })}\n` +
      [...byRule].map(([rule, list]) => `  ${list.length} x ${rule}; e.g. ${JSON.stringify(list.slice(0, 3))}`).join('\n') +
      '\n',
  );

  expect(figures.requests).toBe(RUNS * BATCH);
  expect([...byRule].map(([rule, list]) => `${list.length} x ${rule}`)).toEqual([]);
});
