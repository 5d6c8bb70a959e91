import type { Logger } from '../logger';

/** Waits for Temporal at start-up (it may still be booting) instead of crashing, logging each wait. */
export async function connectWithRetry<T>(connect: () => Promise<T>, address: string, logger: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (error) {
      const delayMs = Math.min(1_000 * attempt, 10_000);
      logger.warn({ address, attempt, err: (error as Error).message }, `Temporal not reachable, retrying in ${delayMs / 1000} s`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
