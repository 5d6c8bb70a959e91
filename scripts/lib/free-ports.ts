import { createServer, type Server } from 'node:net';

/**
 * Ports are picked at random below Linux's ephemeral range (32768 and up). A port found there with `listen(0)` is
 * free again once probed, and the kernel hands the same ones to whoever asks next: the Temporal dev server picks its
 * metrics and internal ports that way, and took a port meant for the fake Calendly API before it started.
 */
const LOWEST = 20_000;
const HIGHEST = 32_767;

export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port;
}

/** Distinct ports, each held until all are found. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    while (servers.length < count) {
      const server = await listening(LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1)));
      if (server) servers.push(server);
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** A server on the port of every interface (children listen on 0.0.0.0 or 127.0.0.1), or undefined when it is taken. */
function listening(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
