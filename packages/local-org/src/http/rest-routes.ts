import { notFound } from '../api-error.js';
import type { RecordStore } from '../store.js';
import { limits, objectSummary, recordJson, resources, type Usage } from './documents.js';
import { json, type ApiRequest, type CountRoute } from './exchange.js';

export type RestOptions = {
  store: RecordStore;
  dailyApiRequests: number;
  /** the org's usage, counted by the router */
  usage: Readonly<Usage>;
  identityUrl: () => string;
  count: CountRoute;
};

/** The REST resources of a version: its resource list, limits, and sObjects (list, describe, one record). */
export class RestRoutes {
  public constructor(private readonly options: RestOptions) {}

  /** Answers the request when it is one of these resources; false sends it on to the other routes. */
  public handle({ x, method, parts, version, query }: ApiRequest): boolean {
    const { store, count } = this.options;
    const [a, b, c] = parts;
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
    if (n === 3 && c === 'describe' && method === 'GET') {
      route('sobjects/:object/describe');
      const fields = object.describe.fields.map(({ ...f }) => f);
      json(x, 200, { ...objectSummary(object.describe, version), fields, childRelationships: [], recordTypeInfos: [] });
      return true;
    }
    if (n === 3 && method === 'GET') {
      route('sobjects/:object/:id');
      const record = object.records.get(c) ?? [...object.records.values()].find((r) => r.Id.slice(0, 15) === c);
      if (!record) throw notFound();
      json(x, 200, recordJson(object.describe, record, version, query.get('fields')));
      return true;
    }
    return false;
  }
}
