import { expect } from 'chai';
import type { LocalOrg } from '../src/index.js';

// A bare client of one org for the tests of users, record types, queues and writes: REST calls with a
// chosen session, and ingest and query jobs run to their end.

export const V = '/services/data/v62.0';

export type JobInfo = {
  id: string;
  state: string;
  createdById: string;
  numberRecordsProcessed: number;
  numberRecordsFailed: number;
  errorMessage?: string;
};

export class Wire {
  public constructor(
    private readonly org: LocalOrg,
    /** the session the calls use (default: the org's admin session) */
    public token = org.accessToken,
  ) {}

  public as(token: string): Wire {
    return new Wire(this.org, token);
  }

  public call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
    return fetch(`${this.org.instanceUrl}${V}${path}`, {
      method,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': contentType },
    });
  }

  public async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.call(method, path, body)).json()) as T;
  }

  public async query<T = Record<string, unknown>>(soql: string): Promise<T[]> {
    const page = await this.json<{ records: T[] }>('GET', `/query?q=${encodeURIComponent(soql)}`);
    return page.records;
  }

  /** An ingest job from create to its end; the job info and its failed rows' sf__Error values. */
  public async ingest(job: Record<string, unknown>, csv: string): Promise<{ info: JobInfo; errors: string[] }> {
    const created = await this.json<JobInfo>('POST', '/jobs/ingest', job);
    expect((await this.call('PUT', `/jobs/ingest/${created.id}/batches`, csv, 'text/csv')).status).to.equal(201);
    await this.call('PATCH', `/jobs/ingest/${created.id}`, { state: 'UploadComplete' });
    const info = await this.until(`/jobs/ingest/${created.id}`);
    const failed = await (await this.call('GET', `/jobs/ingest/${created.id}/failedResults`)).text();
    const errors = failed
      .split('\n')
      .slice(1)
      .filter(Boolean)
      .map((line) => /^"[^"]*","((?:[^"]|"")*)"/.exec(line)![1].replaceAll('""', '"'));
    return { info, errors };
  }

  /** A Bulk API 2.0 query job's result rows (all pages), header first. */
  public async bulkQuery(soql: string): Promise<string[][]> {
    const created = await this.json<JobInfo>('POST', '/jobs/query', { operation: 'query', query: soql });
    await this.until(`/jobs/query/${created.id}`);
    const rows: string[][] = [];
    let locator: string | null = null;
    do {
      const suffix: string = locator ? `?locator=${locator}&maxRecords=1000` : '?maxRecords=1000';
      // eslint-disable-next-line no-await-in-loop
      const page: Response = await this.call('GET', `/jobs/query/${created.id}/results${suffix}`);
      locator = page.headers.get('Sforce-Locator');
      // eslint-disable-next-line no-await-in-loop
      const lines = (await page.text()).split('\n').filter(Boolean);
      const cells = lines.map((line) => line.slice(1, -1).split('","'));
      rows.push(...(rows.length ? cells.slice(1) : cells));
    } while (locator && locator !== 'null');
    return rows;
  }

  private async until(path: string): Promise<JobInfo> {
    for (;;) {
      // eslint-disable-next-line no-await-in-loop
      const info = await this.json<JobInfo>('GET', path);
      if (['JobComplete', 'Failed', 'Aborted'].includes(info.state)) return info;
      // eslint-disable-next-line no-await-in-loop
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** A User record of a seed, with the fields the org requires. */
export const user = (username: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Username: username,
  LastName: username.split('@')[0],
  Email: username,
  Alias: username.slice(0, 8),
  TimeZoneSidKey: 'GMT',
  ...extra,
});
