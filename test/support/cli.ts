import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.ts';

export const cliEntry = join(repoRoot, 'apps', 'cli', 'src', 'main.ts');
export const nodeArgs = ['--conditions=btfwatch-source', '--import', 'tsx', cliEntry];

/** Runs `btfwatch ...args` from the sources to completion. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string) {
  return spawnSync(process.execPath, [...nodeArgs, ...args], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    encoding: 'utf8',
    input,
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
}

/**
 * Runs `btfwatch ...args` without blocking this process's event loop — needed when the other end
 * (a loopback mirror, a test service) lives in this process.
 */
export function runCliAsync(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export interface ServiceProcess {
  child: ChildProcessWithoutNullStreams;
  url: string;
  logs: string[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts a long-running `btfwatch <role>` and resolves once it logs that it listens (or its workers started). */
export function startCliService(
  role: 'serve' | 'api' | 'worker',
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...nodeArgs, role], {
    cwd: repoRoot,
    env: { ...process.env, LOG_LEVEL: 'info', PORT: '0', ...env },
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`btfwatch ${role} did not start:\n${logs.join('\n')}`)),
      60_000,
    );
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        logs.push(line);
        let entry: { msg?: string; url?: string } = {};
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        const ready = role === 'worker' ? entry.msg === 'workers started' : entry.msg === 'listening';
        if (ready) {
          clearTimeout(timer);
          resolve({
            child,
            url: entry.url ?? '',
            logs,
            stop: (signal = 'SIGTERM') => {
              child.kill(signal);
              return exited;
            },
          });
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`btfwatch ${role} exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}
