/**
 * Whose address a refused webhook request is charged to (issue 18, item 7): X-Forwarded-For is heeded only for the
 * proxies TRUST_PROXY_HOPS says are in front. With none (the default, as when compose publishes the port directly) a
 * client cannot escape the per-address refusal limit by naming a new address in each request; behind one proxy, the
 * address that proxy appended is the client's. Real receiver over HTTP, Temporal and PostgreSQL.
 */
import { startTestSystem, type TestSystem } from '../support/system';

const LIMIT = 3;

/** An unsigned delivery (401 while under the limit) with the given X-Forwarded-For. */
async function unsigned(system: TestSystem, forwardedFor: string): Promise<{ status: number; code: string }> {
  const response = await fetch(`${system.receiverUrl}/calendly/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: '{}',
  });
  return { status: response.status, code: ((await response.json()) as { code: string }).code };
}

describe('with TRUST_PROXY_HOPS unset (0)', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ env: { WEBHOOK_REFUSALS_PER_MINUTE: String(LIMIT) } });
  });
  afterAll(() => system.stop());

  it('charges every refusal to the connecting address, whatever X-Forwarded-For names', async () => {
    const answers = [];
    for (let i = 1; i <= LIMIT + 2; i++) answers.push(await unsigned(system, `198.51.100.${i}`));
    expect(answers.map(({ status }) => status)).toEqual([401, 401, 401, 429, 429]);
    expect(answers.at(-1)!.code).toBe('rate_limited');
  });
});

describe('with TRUST_PROXY_HOPS=1', () => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startTestSystem({ env: { WEBHOOK_REFUSALS_PER_MINUTE: String(LIMIT), TRUST_PROXY_HOPS: '1' } });
  });
  afterAll(() => system.stop());

  it('takes the client address from the entry the proxy appended, not from what the client wrote before it', async () => {
    const client = '203.0.113.7';
    const answers = [];
    // The client forges an entry of its own each time; the proxy appends the address it saw.
    for (let i = 1; i <= LIMIT + 1; i++) answers.push(await unsigned(system, `10.0.0.${i}, ${client}`));
    expect(answers.map(({ status }) => status)).toEqual([401, 401, 401, 429]);
    // Another client behind the same proxy has its own limit.
    expect((await unsigned(system, '203.0.113.8')).status).toBe(401);
  });
});
