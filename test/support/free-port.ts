import { createServer } from 'node:net';

/** A local port nothing listens on right now: bound, noted and closed again (for "not started yet" or "refused"). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
