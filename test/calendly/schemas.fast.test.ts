import { inviteeSchema } from '../../src/calendly/schemas';
import { startFakeCalendly, type FakeCalendly } from '../../fake-calendly';

let fake: FakeCalendly;
beforeAll(async () => {
  fake = await startFakeCalendly({ apiToken: 'token' });
});
afterAll(() => fake.close());

describe("an invitee's payment", () => {
  it('is read as Calendly documents it, its amount as a number or a decimal string', async () => {
    const { invitee } = await fake.bookMeeting({ email: 'paid@example.com', startTime: '2031-01-01T10:00:00Z', payment: { amount: '49.90', currency: 'EUR' } }, { deliver: false });
    expect(inviteeSchema.parse(invitee).payment).toEqual(expect.objectContaining({ amount: '49.90', currency: 'EUR', successful: true }));
  });

  it.each([
    ['a negative amount', { amount: -5 }],
    ['an amount that is no number', { amount: 'fifty' }],
    ['a currency that is no ISO code', { currency: 'euro' }],
  ])('of an undocumented shape (%s) is read as none: the booking itself is kept', async (_, broken) => {
    const { invitee } = await fake.bookMeeting({ email: 'odd@example.com', startTime: '2031-01-01T11:00:00Z', payment: { amount: 10, currency: 'USD' } }, { deliver: false });
    const parsed = inviteeSchema.parse({ ...invitee, payment: { ...invitee.payment, ...broken } });
    expect(parsed.payment).toBeNull();
    expect(parsed.email).toBe('odd@example.com');
  });
});
