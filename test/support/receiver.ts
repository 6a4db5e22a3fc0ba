import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on 127.0.0.1 that answers `status` (changeable) and records what it got. */
export class Receiver {
  readonly received: Received[] = [];
  status = 200;
  private server: Server | undefined;
  port = 0;

  /** Listens (again) on the same port once one was assigned. */
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(this.status, { 'content-type': 'text/plain' });
        res.end(`status ${this.status} ${'x'.repeat(5000)}`);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port that nothing listens on right now (bound and released). */
export async function freePort(): Promise<number> {
  const r = new Receiver();
  await r.start();
  const port = r.port;
  await r.stop();
  return port;
}
