import { ApiError, notFound } from '../api-error.js';
import type { Collections, SaveResult } from '../collections.js';
import { normaliseId } from '../ids.js';
import type { ObjectStore, RecordStore } from '../store.js';
import { limits, objectSummary, recordJson, recordTypeInfos, resources, type Usage } from './documents.js';
import { json, noContent, readJson, type ApiRequest, type CountRoute, type Exchange } from './exchange.js';

export type RestOptions = {
  store: RecordStore;
  dailyApiRequests: number;
  /** the org's usage, counted by the router */
  usage: Readonly<Usage>;
  identityUrl: () => string;
  count: CountRoute;
  /** the writer of records (the one sObject Collections use), for the single-record resources */
  collections: () => Collections;
};

/**
 * The REST resources of a version: its resource list, limits, and sObjects (list, describe, one record:
 * read, create, update, upsert by external id, delete).
 */
export class RestRoutes {
  public constructor(private readonly options: RestOptions) {}

  /** Answers the request when it is one of these resources; false sends it on to the other routes. */
  // eslint-disable-next-line complexity -- one branch per resource shape
  public async handle(request: ApiRequest): Promise<boolean> {
    const { x, method, parts, version, query } = request;
    const { store, count } = this.options;
    const [a, b, c, d] = parts;
    const n = parts.length;
    const route = (name: string): void => count(`${method} ${name}`);
    if (n === 0 && method === 'GET') {
      route('resources');
      json(x, 200, resources(version, this.options.identityUrl()));
      return true;
    }
    if (a === 'limits' && n === 1 && method === 'GET') {
      route('limits');
      json(x, 200, limits(this.options.dailyApiRequests, this.options.usage));
      return true;
    }
    if (a !== 'sobjects') return false;
    if (n === 1 && method === 'GET') {
      route('sobjects');
      const sobjects = store.all().map((s) => objectSummary(s.describe, version));
      json(x, 200, { encoding: 'UTF-8', maxBatchSize: 200, sobjects });
      return true;
    }
    const object = store.object(b);
    if (!object) {
      route('sobjects/:object');
      throw notFound();
    }
    if (n === 2 && method === 'GET') {
      route('sobjects/:object');
      json(x, 200, { objectDescribe: objectSummary(object.describe, version), recentItems: [] });
      return true;
    }
    if (n === 2 && method === 'POST') {
      route('sobjects/:object');
      await this.create(request, object);
      return true;
    }
    if (n === 3 && c === 'describe' && method === 'GET') {
      route('sobjects/:object/describe');
      const fields = object.describe.fields.map(({ ...f }) => f);
      json(x, 200, {
        ...objectSummary(object.describe, version),
        fields,
        childRelationships: [],
        recordTypeInfos: recordTypeInfos(store, object, version),
      });
      return true;
    }
    if (n === 3 && method === 'GET') {
      route('sobjects/:object/:id');
      const record = object.records.get(c) ?? [...object.records.values()].find((r) => r.Id.slice(0, 15) === c);
      if (!record) throw notFound();
      json(x, 200, recordJson(object.describe, record, version, query.get('fields')));
      return true;
    }
    if (n === 3 && (method === 'PATCH' || method === 'DELETE')) {
      route('sobjects/:object/:id');
      await this.writeById(request, object, c);
      return true;
    }
    if (n === 4 && method === 'PATCH') {
      route('sobjects/:object/:field/:value');
      await this.upsert(request, object, c, d);
      return true;
    }
    return false;
  }

  // The single-record resources (REST API Developer Guide, "Create a Record", "Update a Record", "Delete a
  // Record", "Insert or Update (Upsert) a Record Using an External ID"): create answers 201 with
  // {id, success, errors}; update and delete answer 204 with no body; upsert answers 201 when it created
  // the record and 200 when it updated one, with {id, success, errors, created}; a record that fails
  // answers 400 with [{message, errorCode, fields}]; an unknown id answers 404 NOT_FOUND. Each record goes
  // through the same row validation as a row of an ingest job (collections.ts, rows.ts).

  private async create(request: ApiRequest, object: ObjectStore): Promise<void> {
    const body = await readJson(request.x.req);
    const [result] = this.options.collections().save({
      operation: 'insert',
      records: [{ ...body, attributes: { type: object.describe.name } }],
      allOrNone: false,
      userId: request.userId,
    });
    if (!result.success) return failed(request.x, result);
    json(request.x, 201, { id: result.id, success: true, errors: [] });
  }

  private async writeById(request: ApiRequest, object: ObjectStore, text: string): Promise<void> {
    const id = normaliseId(text);
    const deleted = id ? object.deleted.has(id) : false;
    if (!id || (!object.records.has(id) && !deleted)) {
      request.x.req.resume();
      throw notFound();
    }
    if (deleted) {
      request.x.req.resume();
      throw new ApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    }
    const collections = this.options.collections();
    let result: SaveResult;
    if (request.method === 'DELETE') {
      request.x.req.resume();
      [result] = collections.delete([id], false, request.userId);
    } else {
      const body = await readJson(request.x.req);
      [result] = collections.save({
        operation: 'update',
        records: [{ ...body, attributes: { type: object.describe.name }, Id: id }],
        allOrNone: false,
        userId: request.userId,
      });
    }
    if (!result.success) return failed(request.x, result);
    noContent(request.x);
  }

  private async upsert(request: ApiRequest, object: ObjectStore, fieldName: string, value: string): Promise<void> {
    const keyField = object.field(fieldName);
    if (!keyField || !(keyField.externalId || keyField.idLookup)) {
      request.x.req.resume();
      throw new ApiError(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${fieldName}`,
      );
    }
    const body = await readJson(request.x.req);
    const [result] = this.options.collections().save({
      operation: 'upsert',
      records: [{ ...body, [keyField.name]: value, attributes: { type: object.describe.name } }],
      allOrNone: false,
      object,
      externalIdFieldName: keyField.name,
      userId: request.userId,
    });
    if (!result.success) return failed(request.x, result);
    json(request.x, result.created ? 201 : 200, { id: result.id, success: true, errors: [], created: result.created });
  }
}

/** A single record's failure: 400 with the errors in the shape of every REST error. */
function failed(x: Exchange, result: SaveResult): void {
  json(
    x,
    400,
    result.errors.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })),
  );
}
