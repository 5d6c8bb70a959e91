/**
 * Closes the websockets opened with an issued API token as soon as it is revoked, in this receiver: the revoke
 * NOTIFYs the token's id, which every receiver's outbox connection LISTENs for. What that connection may have missed
 * (while it was down, or while a client was between its token check and being tracked) is checked in the database.
 */
import WebSocket from 'ws';
import type { Logger } from '../logger';
import { CLOSE_TOKEN_REVOKED } from './protocol';

const REVOKED = 'API token revoked: connect with a valid token';

export class TokenRevocations {
  /** by issued token id */
  private readonly tracked = new Map<string, { organization: string; sockets: Set<WebSocket> }>();
  /** Counts notifications and reconnections: a client checked before a change is checked again when tracked. */
  private changes = 0;

  constructor(
    private readonly revokedAmong: (ids: readonly string[]) => Promise<string[]>,
    private readonly logger: Logger,
  ) {}

  /** Taken before a client's token is checked, and given back to `track`. */
  get checkpoint(): number {
    return this.changes;
  }

  /** Closes the socket when its token is revoked from now on, or already was since `checkpoint`. */
  async track(token: { id: string; organization: string }, socket: WebSocket, checkpoint: number): Promise<void> {
    const entry = this.tracked.get(token.id) ?? { organization: token.organization, sockets: new Set() };
    entry.sockets.add(socket);
    this.tracked.set(token.id, entry);
    socket.once('close', () => {
      entry.sockets.delete(socket);
      if (entry.sockets.size === 0 && this.tracked.get(token.id) === entry) this.tracked.delete(token.id);
    });
    if (checkpoint !== this.changes) await this.closeRevoked([token.id]);
  }

  /** A notification: the token was revoked. */
  revoked(tokenId: string): void {
    this.changes += 1;
    this.close(tokenId);
  }

  /** After the LISTEN connection is (re)established: revocations may have been missed while it was down. */
  listening(): void {
    this.changes += 1;
    void this.closeRevoked([...this.tracked.keys()]);
  }

  private async closeRevoked(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    try {
      for (const id of await this.revokedAmong(ids)) this.close(id);
    } catch (error) {
      // The connection is down again: its next reconnection checks again.
      this.logger.warn({ err: error }, 'Could not check API tokens for revocation');
    }
  }

  private close(tokenId: string): void {
    const entry = this.tracked.get(tokenId);
    if (!entry) return;
    const { organization, sockets } = entry;
    this.logger.info({ organization, apiTokenId: tokenId, websockets: sockets.size }, 'API token revoked: closing its websockets');
    for (const socket of sockets) if (socket.readyState === WebSocket.OPEN) socket.close(CLOSE_TOKEN_REVOKED, REVOKED);
  }
}
