/** Which API token a request carries: the Authorization header first, `?token=` where a header cannot be set. */
import { findApiToken, findApiTokenOf } from '../../src/auth/api-tokens';

const tokens = [{ token: 'admin-token' }, { token: 'acme-token', organization: 'https://api.calendly.com/organizations/ACME' }];

describe('findApiToken', () => {
  it('finds the configured token named by a bearer header, with its organization', () => {
    expect(findApiToken('Bearer acme-token', tokens)).toEqual(tokens[1]);
    expect(findApiToken('bearer admin-token', tokens)).toEqual(tokens[0]);
  });

  it.each([undefined, '', 'acme-token', 'Basic acme-token', 'Bearer acme', 'Bearer acme-token extra', 'Bearer acme-token2'])(
    'finds none for %p',
    (authorization) => {
      expect(findApiToken(authorization, tokens)).toBeUndefined();
    },
  );
});

describe('findApiTokenOf', () => {
  it('prefers the Authorization header over the query', () => {
    expect(findApiTokenOf('Bearer admin-token', 'acme-token', tokens)).toEqual(tokens[0]);
  });

  it('falls back to ?token= when the header is missing or not a known token', () => {
    expect(findApiTokenOf(undefined, 'acme-token', tokens)).toEqual(tokens[1]);
    expect(findApiTokenOf('Bearer wrong', 'acme-token', tokens)).toEqual(tokens[1]);
  });

  it('finds none when neither names a configured token', () => {
    expect(findApiTokenOf(undefined, undefined, tokens)).toBeUndefined();
    expect(findApiTokenOf('Bearer wrong', 'also-wrong', tokens)).toBeUndefined();
    expect(findApiTokenOf(undefined, '', tokens)).toBeUndefined();
  });
});
