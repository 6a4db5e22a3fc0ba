import { spawn } from 'node:child_process';

export interface PythonServer {
  /** `http://127.0.0.1:<port>`: the served directory is the root. */
  url: string;
  /** Requests as python logged them (`"GET /path HTTP/1.1" 200 -`). */
  readonly log: readonly string[];
  close(): Promise<void>;
}

/**
 * Serves `root` with `python3 -m http.server` on a free loopback port: HTTP/1.0 as python's default
 * handler speaks it, a connection closed after every response. What a quick internal mirror often is.
 */
export function servePython(root: string): Promise<PythonServer> {
  const child = spawn(
    'python3',
    ['-u', '-m', 'http.server', '0', '--bind', '127.0.0.1', '--directory', root],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line.includes('"')) log.push(line.slice(line.indexOf('"')));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('python3 -m http.server did not start'));
    }, 15_000);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const port = /port (\d+)/.exec(out)?.[1];
      if (!port) return;
      clearTimeout(timer);
      resolve({
        url: `http://127.0.0.1:${port}`,
        log,
        close: async () => {
          child.kill();
          await exited;
        },
      });
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
