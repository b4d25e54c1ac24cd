/*
 * The two REST reads besides query jobs that verify, before images and rollback need: an object's
 * describe, and the Id of a user by username. They go through the query and ingest clients'
 * transport (bulkTransport.ts), so they are retried on transient trouble like every other call.
 */
import { EventEmitter } from 'node:events';
import type { Connection } from '@salesforce/core';
import { BulkTransport, type IngestJobClientOptions } from './bulkTransport.js';
import { soqlLiteral } from './soql.js';

/** the part of a field's describe the plugin reads */
export type DescribedFieldBasics = { name: string; type: string; createable: boolean; updateable: boolean };

export class OrgDescribe {
  private readonly transport: BulkTransport;

  public constructor(connection: Connection, options: IngestJobClientOptions = {}) {
    this.transport = new BulkTransport(connection, options, new EventEmitter());
  }

  /** the object's describe (one GET) */
  public async describe<T>(object: string): Promise<T> {
    return this.get<T>(`/sobjects/${encodeURIComponent(object)}/describe`);
  }

  /** the fields of an object's describe */
  public async describeFields(object: string): Promise<DescribedFieldBasics[]> {
    const describe = await this.describe<{ fields?: DescribedFieldBasics[] }>(object);
    return describe.fields ?? [];
  }

  /** the Id of the user with this username (REST query: one call) */
  public async userId(username: string): Promise<string | undefined> {
    const soql = `SELECT Id FROM User WHERE Username = ${soqlLiteral(username)}`;
    const answer = await this.get<{ records?: Array<{ Id?: string }> }>(`/query?q=${encodeURIComponent(soql)}`);
    return answer.records?.[0]?.Id;
  }

  private async get<T>(suffix: string): Promise<T> {
    const url = new URL(`/services/data/v${this.transport.apiVersion}${suffix}`, this.transport.connection.instanceUrl);
    return (await this.transport.withRetry(async () => this.transport.sendJson('GET', url))) as T;
  }
}
