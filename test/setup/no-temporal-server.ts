/**
 * The fast tier has no Temporal server: a connection to one fails at once with what to do, instead of waiting on
 * retries. The SDK's modules are patched only when a test loads them (replay and MockActivityEnvironment need no
 * server and keep working); the worker's runtime logs errors only, as in the integration tier.
 */
const refuse = () => {
  throw new Error('The fast tier starts no Temporal server: a test that connects to one is named *.test.ts, not *.fast.test.ts');
};

jest.mock('@temporalio/client', () => {
  const client = jest.requireActual<typeof import('@temporalio/client')>('@temporalio/client');
  Object.assign(client.Connection, { connect: refuse, lazy: refuse });
  return client;
});

jest.mock('@temporalio/worker', () => {
  const worker = jest.requireActual<typeof import('@temporalio/worker')>('@temporalio/worker');
  Object.assign(worker.NativeConnection, { connect: refuse });
  worker.Runtime.install({ logger: new worker.DefaultLogger('ERROR') });
  return worker;
});
