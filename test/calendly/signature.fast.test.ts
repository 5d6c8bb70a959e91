import { signatureFor, verifySignature } from '../../src/calendly/signature';

const body = Buffer.from('{"event":"invitee.created","payload":{"email":"ada@example.com"}}');
const now = 1_760_000_000;
const options = { signingKeys: ['current-key-123'], toleranceSeconds: 180, nowSeconds: now };

describe('Calendly webhook signature', () => {
  it('accepts a signature made with the configured key over the raw body', () => {
    expect(verifySignature(body, signatureFor(body, 'current-key-123', now), options)).toBe('valid');
  });

  it('matches Calendly documented format t=<seconds>,v1=<64 lowercase hex>', () => {
    expect(signatureFor(body, 'k', now)).toMatch(/^t=1760000000,v1=[0-9a-f]{64}$/);
  });

  it('refuses a signature made with another key', () => {
    expect(verifySignature(body, signatureFor(body, 'other-key-456', now), options)).toBe('mismatch');
  });

  it('refuses a tampered body, even one that parses to the same JSON', () => {
    const header = signatureFor(body, 'current-key-123', now);
    const reformatted = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 1));
    expect(verifySignature(Buffer.from(body.toString().replace('ada', 'eve')), header, options)).toBe('mismatch');
    expect(verifySignature(reformatted, header, options)).toBe('mismatch');
  });

  it('refuses a timestamp older than the tolerance and accepts one just inside it', () => {
    expect(verifySignature(body, signatureFor(body, 'current-key-123', now - 181), options)).toBe('expired');
    expect(verifySignature(body, signatureFor(body, 'current-key-123', now - 180), options)).toBe('valid');
  });

  it('refuses a timestamp in the future beyond the tolerance', () => {
    expect(verifySignature(body, signatureFor(body, 'current-key-123', now + 181), options)).toBe('future');
  });

  it('says missing when there is no header, malformed when it cannot be read', () => {
    expect(verifySignature(body, undefined, options)).toBe('missing');
    for (const header of ['garbage', 't=abc,v1=00', `t=${now}`, 'v1=' + 'a'.repeat(64), `t=${now},v1=xyz`, `t=${now};v1=${'a'.repeat(64)}`]) {
      expect(verifySignature(body, header, options)).toBe('malformed');
    }
  });

  it('accepts either key while a key is being rotated', () => {
    const rotating = { ...options, signingKeys: ['new-key-789', 'current-key-123'] };
    expect(verifySignature(body, signatureFor(body, 'current-key-123', now), rotating)).toBe('valid');
    expect(verifySignature(body, signatureFor(body, 'new-key-789', now), rotating)).toBe('valid');
    expect(verifySignature(body, signatureFor(body, 'retired-key-000', now), rotating)).toBe('mismatch');
  });

  it('accepts a header with several v1 values when one matches', () => {
    const valid = signatureFor(body, 'current-key-123', now);
    const header = `t=${now},v1=${'0'.repeat(64)},${valid.split(',')[1]}`;
    expect(verifySignature(body, header, options)).toBe('valid');
  });
});
