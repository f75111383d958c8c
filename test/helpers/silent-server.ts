/**
 * A TCP server on 127.0.0.1 that accepts connections and never answers: a registry or
 * update service a command waits on (timeouts, interrupts while waiting).
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';

export interface SilentServer {
  /** `127.0.0.1:<port>` */
  host: string;
  port: number;
  /** The connections accepted so far (a test can wait for one, or cut them). */
  sockets: Socket[];
  stop(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets: Socket[] = [];
  const server = createServer((s) => void sockets.push(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    port,
    sockets,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
