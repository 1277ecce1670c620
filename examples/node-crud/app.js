// The article's application as a Node.js Lambda function, written for surge.
//
// Two handlers, over one DynamoDB table laid out as surge's own store lays
// it out (items.js), so that surge, this function and the Python example
// share it:
//
//   lambdaHandler  the article's operation dispatcher, ported from its
//                  Python (POST /DynamoDBManager, or a direct invocation)
//   itemsHandler   the article's five routes, serving surge's contract
//                  (docs/API.md): POST /items, GET /items, GET /items/{id},
//                  PUT /items/{id}, DELETE /items/{id}
//
// Environment: TABLE_NAME (default items); AWS_ENDPOINT_URL_DYNAMODB, the
// table's endpoint off AWS; OPS_TABLE_NAME, the tableName the dispatcher
// accepts (default TABLE_NAME); CACHE_CONTROL, the Cache-Control of
// GET /items/{id} (default no-cache).

import { performance } from 'node:perf_hooks';
import { NumberValue } from '@aws-sdk/lib-dynamodb';
import * as items from './items.js';

const { ApiError, invalid } = items;
const OPS_TABLE_NAME = process.env.OPS_TABLE_NAME || items.TABLE_NAME;
const CACHE_CONTROL = process.env.CACHE_CONTROL || 'no-cache';
const MAX_WRITE_ATTEMPTS = 16;

/** The tenant API Gateway vouches for: a Lambda authorizer's, else the
 * default tenant, as in surge. */
function tenantOf(event) {
  const t = event?.requestContext?.authorizer?.tenant;
  return typeof t === 'string' && t.length > 0 && t.length <= 128 ? t : 'default';
}

const jsonResponse = (statusCode, body, headers = {}) => ({
  statusCode,
  headers: { 'Content-Type': 'application/json', ...headers },
  body,
});

function errorResponse(err) {
  const headers = err.retryAfter ? { 'Retry-After': String(err.retryAfter) } : {};
  return jsonResponse(err.status, JSON.stringify({ code: err.code, message: err.message }), headers);
}

const contention = () =>
  new ApiError(503, 'unavailable', 'The item is changing too often to be written now; retry.', 1);

// -- the article's dispatcher ---------------------------------------------------

/**
 * The table as the dispatcher's tenant sees it, with the operations of the
 * article's dispatcher taking its DynamoDB parameters (Item, Key,
 * AttributeUpdates, Limit, ExclusiveStartKey) and answering in DynamoDB's
 * shapes, over surge's layout: an item's versions, timestamps and revision
 * are kept as for every other write, and a tenant never reaches another's.
 */
class TenantTable {
  constructor(name, tenant) {
    // Checked when an operation uses the table: an unknown operation is
    // answered first, as in the original.
    this.name = name;
    this.tenant = tenant;
  }

  only(op, x, ...allowed) {
    if (this.name !== undefined && this.name !== OPS_TABLE_NAME) {
      throw invalid(`The table ${JSON.stringify(String(this.name).slice(0, 40))} is not this service's table.`);
    }
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw invalid(`The ${op} payload must be a JSON object.`);
    for (const k of Object.keys(x)) {
      if (!allowed.includes(k)) throw invalid(`The ${op} payload does not support ${JSON.stringify(k.slice(0, 40))}.`);
    }
  }

  static key(x, member = 'Key', required = true) {
    const key = x[member];
    if (key === undefined && !required) return undefined;
    if (key === null || typeof key !== 'object' || Object.keys(key).join() !== 'id' || typeof key.id !== 'string') {
      throw invalid(`The ${member} must be {"id": "<string>"}.`);
    }
    items.validateId(key.id);
    return key.id;
  }

  async putItem(x) {
    this.only('create', x, 'Item');
    if (x.Item === null || typeof x.Item !== 'object' || Array.isArray(x.Item)) {
      throw invalid('The create payload needs an "Item".');
    }
    const { attrs, id } = items.parseBody(items.stringify(x.Item, false));
    if (id === undefined) throw invalid('The Item needs an "id".');
    items.validateId(id);
    for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) {
      // PutItem: create, or replace what is there.
      try {
        await items.create(this.tenant, id, attrs);
        return {};
      } catch (err) {
        if (err.status !== 409) throw err;
      }
      let cur;
      try {
        cur = await items.get(this.tenant, id, true);
      } catch (err) {
        if (err.status === 404) continue;
        throw err;
      }
      if (await items.replace(this.tenant, id, attrs, cur)) return {};
    }
    throw contention();
  }

  async getItem(x) {
    this.only('read', x, 'Key', 'ConsistentRead');
    const id = TenantTable.key(x);
    if (x.ConsistentRead !== undefined && typeof x.ConsistentRead !== 'boolean') {
      throw invalid('"ConsistentRead" must be true or false.');
    }
    try {
      return { Item: items.itemObject(await items.get(this.tenant, id, x.ConsistentRead === true)) };
    } catch (err) {
      if (err.status === 404) return {};
      throw err;
    }
  }

  async updateItem(x) {
    this.only('update', x, 'Key', 'AttributeUpdates');
    const id = TenantTable.key(x);
    const updates = x.AttributeUpdates ?? {};
    if (updates === null || typeof updates !== 'object' || Array.isArray(updates)) {
      throw invalid('"AttributeUpdates" must be a JSON object.');
    }
    for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) {
      let cur = null;
      try {
        cur = await items.get(this.tenant, id, true);
      } catch (err) {
        if (err.status !== 404) throw err;
      }
      const attrs = applyUpdates({ ...(cur?.attrs ?? {}) }, updates);
      let rec;
      if (cur === null) {
        try {
          rec = await items.create(this.tenant, id, attrs);
        } catch (err) {
          if (err.status === 409) continue;
          throw err;
        }
      } else {
        rec = await items.replace(this.tenant, id, attrs, cur);
        if (!rec) continue;
      }
      return { Attributes: items.itemObject(rec) };
    }
    throw contention();
  }

  async deleteItem(x) {
    this.only('delete', x, 'Key');
    const id = TenantTable.key(x);
    for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) {
      let cur;
      try {
        cur = await items.get(this.tenant, id, true);
      } catch (err) {
        if (err.status === 404) return {};
        throw err;
      }
      if (await items.remove(this.tenant, id, cur)) return {};
    }
    throw contention();
  }

  async scan(x) {
    this.only('list', x, 'Limit', 'ExclusiveStartKey', 'ConsistentRead');
    if (x.ConsistentRead !== undefined && typeof x.ConsistentRead !== 'boolean') {
      throw invalid('"ConsistentRead" must be true or false.');
    }
    // An integer written as one: 1.5, 1e2 and "2" are refused, as DynamoDB's Limit.
    const text = x.Limit instanceof NumberValue ? (x.Limit.raw ?? x.Limit.value) : typeof x.Limit === 'number' ? String(x.Limit) : null;
    if (x.Limit !== undefined && (text === null || !/^[1-9]\d*$/.test(text))) {
      throw invalid('"Limit" must be an integer of at least 1.');
    }
    const limit = x.Limit === undefined ? items.MAX_LIMIT : Math.min(Number(text), items.MAX_LIMIT);
    const after = TenantTable.key(x, 'ExclusiveStartKey', false);
    const [page, next] = await items.listPage(this.tenant, Math.min(limit, items.MAX_LIMIT), after);
    const out = { Items: page.map(items.itemObject), Count: page.length, ScannedCount: page.length };
    if (next !== undefined) out.LastEvaluatedKey = { id: next };
    return out;
  }
}

function applyUpdates(attrs, updates) {
  for (const [name, up] of Object.entries(updates)) {
    if (name === 'id') throw invalid('Cannot update attribute id. This attribute is part of the key.');
    if (up === null || typeof up !== 'object' || Object.keys(up).some((k) => k !== 'Value' && k !== 'Action')) {
      throw invalid(`The AttributeUpdates ${JSON.stringify(name.slice(0, 40))} payload does not support that.`);
    }
    const action = up.Action ?? 'PUT';
    if (action === 'DELETE') delete attrs[name];
    else if (action === 'PUT') {
      if (!('Value' in up)) {
        throw invalid(`Only DELETE action is allowed when no attribute value is specified (${JSON.stringify(name.slice(0, 40))}).`);
      }
      attrs[name] = up.Value;
    } else throw invalid(`The Action of ${JSON.stringify(name.slice(0, 40))} must be "PUT" or "DELETE".`);
  }
  return items.parseBody(items.stringify(attrs)).attrs; // the item's limits and exact numbers, on the result
}

/** Answers the dispatcher's refusals with the contract's errors. */
function contractErrors(handler) {
  return async (event, context) => {
    items.storeTime.ms = 0;
    if (typeof event?.body === 'string' && Buffer.byteLength(event.body) > items.MAX_BODY) {
      return errorResponse(new ApiError(413, 'too_large', `The request body is over ${items.MAX_BODY} bytes.`));
    }
    try {
      return await handler(event, context);
    } catch (err) {
      if (err instanceof ApiError) return errorResponse(err);
      throw err;
    }
  };
}

/**
 * Provide an event that contains the following keys:
 *   - operation: one of the operations in the operations object below
 *   - tableName: required for operations that interact with DynamoDB
 *   - payload: a parameter to pass to the operation being performed
 */
export const lambdaHandler = contractErrors(async (event, context) => {
  const tenant = tenantOf(event); // surge: the tenant the gateway vouches for

  if ('body' in event) {
    // surge: read whatever the Content-Type says, as API Gateway hands a
    // proxy integration any body; 413 over the limit; numbers kept exact.
    event = items.parseJSON(bodyText(event, false));
  }
  // surge: what the original would have failed on, or misread, refused.
  if (event === null || typeof event !== 'object' || Array.isArray(event) || event instanceof NumberValue) {
    throw invalid('The event must be a JSON object {"operation": ..., "payload": ...}.');
  }
  if (!('operation' in event)) throw invalid('The event has no "operation".');
  if (event.operation !== null && typeof event.operation === 'object' && !(event.operation instanceof NumberValue)) {
    throw invalid('"operation" must be a string.');
  }
  if ('tableName' in event && typeof event.tableName !== 'string') throw invalid('"tableName" must be a string.');

  const operation = event.operation;

  let dynamo = new TenantTable(undefined, tenant); // surge: tableName may be left out
  if ('tableName' in event) dynamo = new TenantTable(event.tableName, tenant);

  const operations = {
    create: (x) => dynamo.putItem(x),
    read: (x) => dynamo.getItem(x),
    update: (x) => dynamo.updateItem(x),
    delete: (x) => dynamo.deleteItem(x),
    list: (x) => dynamo.scan(x),
    echo: (x) => x,
    ping: () => 'pong',
  };

  if (Object.hasOwn(operations, operation)) {
    const response = await operations[operation]('payload' in event ? event.payload : {});
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' },
      body: items.stringify(response, false, true), // as the original's json.dumps wrote it
    };
  }
  return { statusCode: 400, body: items.stringify({ error: `Unrecognized operation "${operation}"` }, false, true) };
});

// -- the five routes --------------------------------------------------------------

/** A request header's values (API Gateway v1 event), any case. */
function header(event, name) {
  name = name.toLowerCase();
  for (const [k, vs] of Object.entries(event.multiValueHeaders ?? {})) {
    if (k.toLowerCase() === name && vs?.length) return vs;
  }
  for (const [k, v] of Object.entries(event.headers ?? {})) {
    if (k.toLowerCase() === name && v != null) return [v];
  }
  return [];
}

/** The request's body as text, after its media type (where mediaType) and
 * size are checked as the contract wants: 415 unless JSON, 413 over the
 * limit. */
function bodyText(event, mediaType = true) {
  const data = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
  const ct = header(event, 'Content-Type');
  if (mediaType && ct.length) {
    const [type, ...params] = ct[0].split(';').map((p) => p.trim());
    const charset = params.find((p) => p.toLowerCase().startsWith('charset='));
    // An empty or malformed parameter is refused, as surge's own media
    // type parser (Go's mime) refuses it.
    if (type.toLowerCase() !== 'application/json' || params.some((p) => !p.includes('=')) ||
        (charset && charset.slice(8).replace(/"/g, '').toLowerCase() !== 'utf-8')) {
      throw new ApiError(415, 'unsupported_media_type', 'The body must be application/json.');
    }
  } else if (mediaType && data.length) {
    throw new ApiError(415, 'unsupported_media_type', 'The body must be application/json.');
  }
  if (data.length > items.MAX_BODY) {
    throw new ApiError(413, 'too_large', `The request body is over ${items.MAX_BODY} bytes.`);
  }
  try {
    return utf8.decode(data);
  } catch {
    throw invalid('Malformed JSON: invalid UTF-8.');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const TAG = /^(W\/)?"([^"]*)"$/;

/** An If-Match or If-None-Match header; a malformed one matches nothing. */
function entityTags(values) {
  const tags = { present: values.length > 0, any: false, strong: [], weak: [] };
  for (const part of values.join(',').split(',').map((p) => p.trim()).filter(Boolean)) {
    if (part === '*') {
      tags.any = true;
      continue;
    }
    const m = TAG.exec(part);
    if (!m || /[\x00-\x20\x7f]/.test(m[2])) return { present: true, any: false, strong: [], weak: [] };
    (m[1] ? tags.weak : tags.strong).push(m[2]);
  }
  return tags;
}

function pathId(event) {
  const id = event.pathParameters?.id ?? '';
  items.validateId(id);
  return id;
}

const itemResponse = (status, rec, extra = {}) =>
  jsonResponse(status, items.itemJSON(rec), { ETag: items.etag(rec), ...extra });

async function createItem(event, tenant) {
  const { attrs, id: bodyId } = items.parseBody(bodyText(event));
  const id = bodyId ?? items.newId();
  items.validateId(id);
  const rec = await items.create(tenant, id, attrs);
  return itemResponse(201, rec, { Location: `/items/${id}` });
}

async function getItem(event, tenant) {
  const rec = await items.get(tenant, pathId(event));
  const tags = entityTags(header(event, 'If-None-Match'));
  if (tags.present && (tags.any || tags.strong.includes(rec.rev) || tags.weak.includes(rec.rev))) {
    return { statusCode: 304, headers: { ETag: items.etag(rec), 'Cache-Control': CACHE_CONTROL }, body: '' };
  }
  return itemResponse(200, rec, { 'Cache-Control': CACHE_CONTROL });
}

async function putItem(event, tenant) {
  const id = pathId(event);
  const { attrs, id: bodyId } = items.parseBody(bodyText(event));
  if (bodyId !== undefined && bodyId !== id) {
    throw invalid(`The body's id ${JSON.stringify(bodyId.slice(0, 40))} is not the path's id ${JSON.stringify(id)}.`);
  }
  const tags = entityTags(header(event, 'If-Match'));
  for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) {
    const cur = await items.get(tenant, id, true);
    if (tags.present && !tags.any && !tags.strong.includes(cur.rev)) throw items.preconditionFailed();
    const rec = await items.replace(tenant, id, attrs, cur);
    if (rec) return itemResponse(200, rec);
    if (tags.present && !tags.any) throw items.preconditionFailed();
  }
  throw contention();
}

async function deleteItem(event, tenant) {
  const id = pathId(event);
  const tags = entityTags(header(event, 'If-Match'));
  for (let i = 0; i < MAX_WRITE_ATTEMPTS; i++) {
    const cur = await items.get(tenant, id, true);
    if (tags.present && !tags.any && !tags.strong.includes(cur.rev)) throw items.preconditionFailed();
    if (await items.remove(tenant, id, cur)) return { statusCode: 204, headers: {}, body: '' };
    if (tags.present && !tags.any) throw items.preconditionFailed();
  }
  throw contention();
}

async function listItems(event, tenant) {
  const query =
    event.multiValueQueryStringParameters ??
    Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).map(([k, v]) => [k, [v]]));
  let limit = items.DEFAULT_LIMIT;
  if ('limit' in query) {
    const vs = query.limit;
    if (vs.length !== 1 || !/^[+-]?\d+$/.test(vs[0]) || +vs[0] < 1 || +vs[0] > items.MAX_LIMIT) {
      throw invalid(`The limit must be one integer from 1 to ${items.MAX_LIMIT}.`);
    }
    limit = +vs[0];
  }
  let after;
  if ('cursor' in query) {
    if (query.cursor.length > 1) throw invalid('Only one cursor may be given.');
    if (query.cursor[0]) after = items.decodeCursor(query.cursor[0]);
  }
  const [page, next] = await items.listPage(tenant, limit, after);
  let body = '{"items":[' + page.map(items.itemJSON).join(',') + ']';
  if (next !== undefined) body += `,"next":"${items.encodeCursor(next)}"`;
  return jsonResponse(200, body + '}');
}

const ROUTES = {
  'POST /items': createItem,
  'GET /items': listItems,
  'GET /items/{id}': getItem,
  'PUT /items/{id}': putItem,
  'DELETE /items/{id}': deleteItem,
};
const ALLOW = { '/items': 'GET, HEAD, POST', '/items/{id}': 'GET, HEAD, PUT, DELETE' };

/** The five routes of a REST API (API Gateway v1 proxy events), and the
 * dispatcher where the API sends /DynamoDBManager here too. */
export async function itemsHandler(event, context) {
  const start = performance.now();
  items.storeTime.ms = 0;
  let { resource, httpMethod: method } = event;
  if (!Object.hasOwn(ALLOW, resource) && resource !== '/DynamoDBManager' && resource !== '/ops') {
    // A greedy resource ({proxy+}): the route from the path, so that a
    // method the API does not route here is told apart from a path.
    const parts = String(event.path ?? '').split('/');
    if (parts.length === 2 && parts[1] === 'items') resource = '/items';
    else if (parts.length === 3 && parts[1] === 'items' && !['', '.', '..'].includes(parts[2])) {
      resource = '/items/{id}';
      event = { ...event, pathParameters: { id: parts[2] } }; // the event's path is decoded
    }
  }
  if ((resource === '/DynamoDBManager' || resource === '/ops') && method === 'POST') {
    return lambdaHandler(event, context);
  }
  let resp;
  try {
    const route = ROUTES[`${method === 'HEAD' ? 'GET' : method} ${resource}`];
    if (route) resp = await route(event, tenantOf(event));
    else if (Object.hasOwn(ALLOW, resource)) {
      resp = errorResponse(new ApiError(405, 'method_not_allowed', `The method ${method} is not allowed here.`));
      resp.headers.Allow = ALLOW[resource];
    } else {
      resp = errorResponse(new ApiError(404, 'not_found', `No such route: ${String(event.path ?? '').slice(0, 40)}.`));
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    resp = errorResponse(err);
  }
  resp.headers['Server-Timing'] =
    `store;dur=${items.storeTime.ms.toFixed(2)}, total;dur=${(performance.now() - start).toFixed(2)}`;
  return resp;
}
