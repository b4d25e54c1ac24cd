/*
 * What the benchmark scripts share: running a CLI process while sampling its peak RSS, and plain
 * HTTP calls to the local org (setting up data outside the contenders' measured runs).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { LocalOrg } from '@sf-migrate/local-org';

/** runs a command and samples its peak RSS (VmHWM) from /proc while it runs */
export function runMeasured(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ ms: number; peakRssMb: number; code: number }> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    let peak = 0;
    const sample = (): void => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
        if (hwm) peak = Math.max(peak, Number(hwm[1]) / 1024);
      } catch {
        // the process is gone
      }
    };
    const timer = setInterval(sample, 100);
    child.on('exit', (code) => {
      clearInterval(timer);
      done({ ms: Date.now() - started, peakRssMb: peak, code: code ?? 1 });
    });
  });
}

export async function http(
  org: LocalOrg,
  method: string,
  path: string,
  body?: string | NodeJS.ReadableStream,
  type = 'application/json',
): Promise<string> {
  const url = new URL(path, org.instanceUrl);
  return new Promise((done, fail) => {
    const req = request(
      url,
      { method, headers: { Authorization: `Bearer ${org.accessToken}`, 'Content-Type': type } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => (text += piece));
        res.on('end', () =>
          (res.statusCode ?? 500) < 300 ? done(text) : fail(new Error(`${method} ${path}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', fail);
    if (body === undefined) req.end();
    else if (typeof body === 'string') req.end(body);
    else body.pipe(req);
  });
}
