/**
 * Encrypts connection secrets at rest (access and refresh tokens, webhook signing keys) and seals the OAuth `state`,
 * with AES-256-GCM from node:crypto: a wrong key or a changed byte fails to open instead of giving garbage.
 * Format: `v2.<iv>.<tag>.<ciphertext>`, base64url. The optional associated data (where the value lives, e.g.
 * `calendly_connections.refresh_token:<organization>`) is authenticated, not stored: a value copied to another row or column
 * does not open there. `v1` (the format before, without associated data) is still opened, so that values sealed
 * before keep working; each is sealed as v2 when it is next written.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** GCM's full tag: a shorter one (which decipher.setAuthTag would accept) makes forgeries far easier. */
const TAG_BYTES = 16;
const IV_BYTES = 12;

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the connection encryption key must be 32 bytes');
  }

  seal(plain: string, associatedData = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`v2:${associatedData}`, 'utf8'));
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v2', iv, cipher.getAuthTag(), data].map((part) => (typeof part === 'string' ? part : part.toString('base64url'))).join('.');
  }

  /** Throws when the text was not sealed with this key and associated data (v2), or was changed. */
  open(sealed: string, associatedData = ''): string {
    const [version, iv, tag, data, extra] = sealed.split('.');
    if ((version !== 'v1' && version !== 'v2') || !iv || !tag || data === undefined || extra !== undefined) throw new Error('not a sealed secret');
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error('not a sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, ivBytes, { authTagLength: TAG_BYTES });
    if (version === 'v2') decipher.setAAD(Buffer.from(`v2:${associatedData}`, 'utf8'));
    decipher.setAuthTag(tagBytes);
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
  }
}
