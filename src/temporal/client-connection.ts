/**
 * The one way every process (receiver, worker, scripts) reaches Temporal: the address, and for Temporal Cloud or a
 * cluster that requires it, TLS (client certificate, CA, server name) or an API key, all from Config.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import type { Config } from '../config';

export type TemporalSettings = Pick<Config['temporal'], 'address' | 'namespace' | 'tls' | 'apiKey'>;

/**
 * What the client Connection and the worker's NativeConnection share. An API key is a bearer token: never sent
 * without TLS. `temporal-namespace` routes an API-key call through Temporal Cloud's regional endpoints.
 */
export function temporalAccessOptions({ address, namespace, tls, apiKey }: TemporalSettings) {
  return {
    address,
    tls: tls ?? (apiKey ? {} : undefined),
    ...(apiKey ? { apiKey, metadata: { 'temporal-namespace': namespace } } : {}),
  };
}

/**
 * Options for a client Connection. gRPC backs off up to two minutes between reconnects; capped at 5 s, deliveries
 * are accepted again within seconds of Temporal coming back instead of minutes of 503s.
 */
export function temporalConnectionOptions(temporal: TemporalSettings): ConnectionOptions {
  return {
    ...temporalAccessOptions(temporal),
    channelArgs: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 5_000 },
  };
}

/** Lazy: the receiver starts (and /ready reports it) while Temporal is down; deliveries then get a 503. */
export function lazyTemporalConnection(temporal: TemporalSettings): Connection {
  return Connection.lazy(temporalConnectionOptions(temporal));
}

/** Connected now: for commands, which should fail at once when Temporal cannot be reached. */
export async function connectTemporal(temporal: TemporalSettings): Promise<Connection> {
  try {
    return await Connection.connect(temporalConnectionOptions(temporal));
  } catch (error) {
    throw temporalUnreachable(temporal, error);
  }
}

/**
 * gRPC says only that it could not connect (a server that refuses the client's certificate ends the handshake
 * without a reason): say what to check.
 */
export function temporalUnreachable({ address }: TemporalSettings, error: unknown): Error {
  return new Error(
    `Cannot connect to Temporal at ${address} (${(error as Error).message}): check TEMPORAL_ADDRESS, and for a server that requires TLS ` +
      'its CA (TEMPORAL_TLS_CA_PATH), a client certificate it accepts (TEMPORAL_TLS_CERT_PATH, TEMPORAL_TLS_KEY_PATH) or TEMPORAL_API_KEY',
    { cause: error },
  );
}
