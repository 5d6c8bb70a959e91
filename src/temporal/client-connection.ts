import { Connection, type ConnectionOptions } from '@temporalio/client';

/**
 * Options for the receiver's Temporal connection. gRPC backs off up to two minutes between reconnects; capped at
 * 5 s, deliveries are accepted again within seconds of Temporal coming back instead of minutes of 503s.
 */
export function temporalConnectionOptions(address: string): ConnectionOptions {
  return { address, channelArgs: { 'grpc.initial_reconnect_backoff_ms': 500, 'grpc.max_reconnect_backoff_ms': 5_000 } };
}

/** Lazy: the receiver starts (and /ready reports it) while Temporal is down; deliveries then get a 503. */
export function lazyTemporalConnection(address: string): Connection {
  return Connection.lazy(temporalConnectionOptions(address));
}
