/** The worker's native (Rust core) connection, with the same access settings as every client connection. */
import { NativeConnection } from '@temporalio/worker';
import { temporalAccessOptions, temporalUnreachable, type TemporalSettings } from './client-connection';

export async function connectWorker(temporal: TemporalSettings): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(temporalAccessOptions(temporal));
  } catch (error) {
    throw temporalUnreachable(temporal, error);
  }
}
