/**
 * The AES-256-GCM box that keeps secrets at rest: a forged or shortened tag never opens, a value sealed for one row
 * and column does not open for another, and values sealed before associated data existed (v1) still open.
 */
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../../src/connections/secret-box';
import { sealedAsBefore as sealedAsBeforeWith } from '../support/oauth-flow';

const key = randomBytes(32);
const box = new SecretBox(key);

const sealedAsBefore = (plain: string) => sealedAsBeforeWith(plain, key);

const withTag = (sealed: string, tag: (bytes: Buffer) => Buffer) => {
  const parts = sealed.split('.');
  parts[2] = tag(Buffer.from(parts[2], 'base64url')).toString('base64url');
  return parts.join('.');
};

it('opens what it sealed, with the same associated data', () => {
  const sealed = box.seal('refresh-token', 'calendly_connections.refresh_token:1');
  expect(sealed.startsWith('v2.')).toBe(true);
  expect(box.open(sealed, 'calendly_connections.refresh_token:1')).toBe('refresh-token');
});

it('refuses a value moved to another row or column, or opened without its associated data', () => {
  const sealed = box.seal('refresh-token', 'calendly_connections.refresh_token:1');
  expect(() => box.open(sealed, 'calendly_connections.refresh_token:2')).toThrow();
  expect(() => box.open(sealed, 'calendly_connections.access_token:1')).toThrow();
  expect(() => box.open(sealed)).toThrow();
});

it.each([
  ['a value sealed now', () => box.seal('secret', 'outbound_endpoints.secret:1'), 'outbound_endpoints.secret:1'],
  ['a value sealed before (v1)', () => sealedAsBefore('secret'), undefined],
])('refuses %s with its tag cut short (GCM would accept a 4-byte prefix of the right tag)', (_what, seal, associatedData) => {
  const sealed = seal();
  for (const length of [4, 8, 12, 15]) expect(() => box.open(withTag(sealed, (tag) => tag.subarray(0, length)), associatedData)).toThrow('not a sealed secret');
  expect(() => box.open(withTag(sealed, (tag) => Buffer.from(tag.map((byte, i) => (i === 0 ? byte ^ 1 : byte)))), associatedData)).toThrow();
});

it('still opens a value sealed before associated data existed (v1), whatever it is asked with', () => {
  const old = sealedAsBefore('signing-key');
  expect(box.open(old)).toBe('signing-key');
  expect(box.open(old, 'calendly_connections.signing_key:1')).toBe('signing-key');
});

it('refuses a new value relabeled as the old format, which would skip its associated data', () => {
  const sealed = box.seal('secret', 'outbound_endpoints.secret:1');
  expect(() => box.open(sealed.replace(/^v2\./, 'v1.'))).toThrow();
});

it('refuses another key and anything not sealed', () => {
  expect(() => new SecretBox(randomBytes(32)).open(box.seal('secret'))).toThrow();
  expect(() => box.open('0123456789abcdef')).toThrow('not a sealed secret');
});
