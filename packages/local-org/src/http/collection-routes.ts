import { ApiError, notFound } from '../api-error.js';
import { Collections } from '../collections.js';
import type { Faults } from '../faults.js';
import { sfError } from '../rows.js';
import type { RecordStore } from '../store.js';
import { json, readJson, type ApiRequest, type CountRoute } from './exchange.js';

// A collection of 200 records with long text values can exceed the 1 MB a JSON body of the other
// resources may have; a real org takes request bodies of several MB (no public figure for this resource).
const MAX_BODY_BYTES = 50 * 1024 * 1024;

/** `…/composite/sobjects[/{Object}/{ExternalIdField}]`: sObject Collections (see collections.ts). */
export class CollectionRoutes {
  /** the org's record writer, shared with the single-record REST resources */
  public readonly collections: Collections;

  public constructor(
    private readonly store: RecordStore,
    userId: string,
    faults: Faults,
    private readonly count: CountRoute,
  ) {
    const refuse = (): string | undefined =>
      faults.chance(faults.value.lockRowRate)
        ? sfError('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record')
        : undefined;
    this.collections = new Collections(store, userId, refuse);
  }

  /** `parts` is the path after composite/sobjects. */
  public async handle({ x, method, parts, query, userId }: ApiRequest): Promise<void> {
    if (parts.length === 0 && method === 'DELETE') {
      this.count('DELETE composite/sobjects');
      const ids = (query.get('ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0) throw new ApiError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
      return json(x, 200, this.collections.delete(ids, query.get('allOrNone') === 'true', userId));
    }
    if (parts.length === 0 && (method === 'POST' || method === 'PATCH')) {
      this.count(`${method} composite/sobjects`);
      const body = await readJson(x.req, MAX_BODY_BYTES);
      const operation = method === 'POST' ? 'insert' : 'update';
      return json(
        x,
        200,
        this.collections.save({ operation, records: body.records, allOrNone: body.allOrNone, userId }),
      );
    }
    if (parts.length === 2 && method === 'PATCH') {
      this.count('PATCH composite/sobjects/:object/:externalIdField');
      const object = this.store.object(parts[0]);
      if (!object) throw notFound();
      const keyField = object.field(parts[1]);
      // Wording of a real org's single-record upsert with an unknown key field; unconfirmed for collections.
      if (!keyField || !(keyField.externalId || keyField.idLookup || keyField.name === 'Id')) {
        throw new ApiError(
          404,
          'NOT_FOUND',
          `Provided external ID field does not exist or is not accessible: ${parts[1]}`,
        );
      }
      const body = await readJson(x.req, MAX_BODY_BYTES);
      return json(
        x,
        200,
        this.collections.save({
          operation: 'upsert',
          records: body.records,
          allOrNone: body.allOrNone,
          object,
          externalIdFieldName: keyField.name,
          userId,
        }),
      );
    }
    this.count(`${method} composite/sobjects unknown`);
    throw notFound();
  }
}
