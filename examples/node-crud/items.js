// The items table as surge lays it out, with the AWS SDK for JavaScript v3.
//
// One table holds every tenant's items, as surge's own DynamoDB store keeps
// them (internal/store/dynamo), so that this function, the Python example
// and `surge serve --store dynamodb://TABLE` share a table:
//
//   tenant     S   the partition key
//   id         S   the item id, the sort key
//   version    N   1 on create, +1 on every write
//   rev        S   the revision token, the ETag's value
//   createdAt  N   Unix time in milliseconds
//   updatedAt  N
//   attrs      M   the client's attributes, as native DynamoDB values
//
// Numbers travel as the SDK's NumberValue, their decimal text, so they keep
// their exact value (12345678901234567890 is not rounded through a double).

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  NumberValue,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';

export const MAX_ITEM_SIZE = 400 * 1024;
export const MAX_BODY = MAX_ITEM_SIZE + 64 * 1024;
export const MAX_DEPTH = 31; // DynamoDB nests 32 levels counting the stored item; the attributes sit one down
export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1000;
const MAX_PAGE_BYTES = 1 << 20;
const FIRST_ID = '0'; // the least id: the tenant's other records ("#...") sort before it
const CURSOR_PREFIX = 'c1:';
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const SERVER_MANAGED = new Set(['id', 'version', 'createdAt', 'updatedAt']);

/** An error of the contract: an HTTP status, a code and a message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export const invalid = (message) => new ApiError(400, 'invalid', message);
export const notFound = () => new ApiError(404, 'not_found', 'Item not found.');
export const preconditionFailed = () =>
  new ApiError(412, 'precondition_failed', 'The item has changed (If-Match does not match).');

// -- the table, made once per instance (at init, outside the handler) ---------

export const TABLE_NAME = process.env.TABLE_NAME || 'items';
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB || process.env.AWS_ENDPOINT_URL || undefined;
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint }), {
  marshallOptions: { removeUndefinedValues: true },
  unmarshallOptions: { wrapNumbers: true },
});

/** Time spent in DynamoDB calls during the current request, for Server-Timing. */
export const storeTime = { ms: 0 };

async function send(command) {
  const start = performance.now();
  try {
    return await doc.send(command);
  } catch (err) {
    throw storeError(err);
  } finally {
    storeTime.ms += performance.now() - start;
  }
}

/** The contract's error for a DynamoDB error that is not a condition. */
function storeError(err) {
  const name = err?.name ?? '';
  if (['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'].includes(name)) {
    return new ApiError(503, 'unavailable', 'DynamoDB is throttling; retry later.', 1);
  }
  const msg = String(err?.message ?? '').toLowerCase();
  if (name === 'ValidationException' && msg.includes('item size') && msg.includes('exceeded')) {
    return new ApiError(413, 'too_large', `The item is over ${MAX_ITEM_SIZE} bytes as DynamoDB counts them.`);
  }
  return err;
}

const conditionFailed = (err) => err?.name === 'ConditionalCheckFailedException';

// -- numbers ------------------------------------------------------------------

const NUMBER_RE = /^(-)?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/** A number's text, normalized as DynamoDB normalizes it (1.10 -> 1.1,
 * 1.5e3 -> 1500) and written without an exponent, as surge writes numbers;
 * and its significant digits and magnitude, for the checks. */
export function normalizeNumber(text) {
  const m = NUMBER_RE.exec(String(text));
  if (!m) throw invalid(`${JSON.stringify(String(text).slice(0, 40))} is not a JSON number.`);
  let digits = (m[2] + (m[3] || '')).replace(/^0+/, '');
  let exp = (m[4] ? parseInt(m[4], 10) : 0) - (m[3] || '').length;
  if (digits === '') return { text: '0', digits: 0, magnitude: 0 };
  const trailing = digits.length - digits.replace(/0+$/, '').length;
  digits = digits.slice(0, digits.length - trailing);
  exp += trailing;
  const sign = m[1] && digits ? '-' : '';
  let plain;
  if (exp >= 0) plain = digits + '0'.repeat(exp);
  else if (-exp < digits.length) plain = digits.slice(0, digits.length + exp) + '.' + digits.slice(digits.length + exp);
  else plain = '0.' + '0'.repeat(-exp - digits.length) + digits;
  return { text: sign + plain, digits: digits.length, magnitude: exp + digits.length - 1 };
}

function checkNumber(text) {
  const n = normalizeNumber(text);
  if (n.digits > 38) {
    throw invalid(`The number ${text} has more than 38 significant digits, which cannot be stored exactly.`);
  }
  if (n.digits > 0 && (n.magnitude < -130 || n.magnitude > 125)) {
    throw invalid(`The number ${text} is outside the storable range (1E-130 to 9.99E+125 in magnitude).`);
  }
  return NumberValue.from(n.text);
}

// -- JSON ---------------------------------------------------------------------

/**
 * Parses JSON text as the contract wants it read: numbers as NumberValues
 * (exact, checked against what DynamoDB can keep), no duplicate or empty
 * names, at most MAX_DEPTH levels. Errors are ApiErrors (400).
 */
export function parseJSON(text) {
  let i = 0;
  const fail = (why) => {
    throw invalid(`Malformed JSON: ${why} at offset ${i}.`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const string = () => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('an unterminated string');
    i++;
    try {
      return JSON.parse(text.slice(start, i));
    } catch {
      return fail('a bad string');
    }
  };
  const NUM = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (depth) => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth > MAX_DEPTH) throw invalid(`An item may nest at most ${MAX_DEPTH} levels deep.`);
      i++;
      ws();
      if (c === '[') {
        const arr = [];
        if (text[i] === ']') return i++, arr;
        for (;;) {
          arr.push(value(depth + 1));
          ws();
          if (text[i] === ',') i++;
          else if (text[i] === ']') return i++, arr;
          else fail("a missing ',' or ']'");
        }
      }
      const obj = {};
      if (text[i] === '}') return i++, obj;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a missing name');
        const name = string();
        if (name === '') throw invalid('An attribute name must not be empty.');
        if (Object.hasOwn(obj, name)) fail(`duplicate name ${JSON.stringify(name.slice(0, 40))}`);
        ws();
        if (text[i++] !== ':') fail("a missing ':'");
        Object.defineProperty(obj, name, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return i++, obj;
        else fail("a missing ',' or '}'");
      }
    }
    if (c === '"') return string();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(lit, i)) return (i += lit.length), v;
    }
    NUM.lastIndex = i;
    const m = NUM.exec(text);
    if (!m) fail('an unexpected character');
    i += m[0].length;
    const n = checkNumber(m[0]);
    n.raw = m[0]; // as written, for the checks that care (a Limit of 1e2)
    return n;
  };
  const v = value(1);
  ws();
  if (i < text.length) fail('more than one JSON value');
  return v;
}

/** JSON with numbers written exactly and object members in name order at
 * every level (sort), as surge writes items; with py, as Python's
 * json.dumps writes it instead (", " and ": ", non-ASCII escaped, members
 * in order, a number as the request wrote it), as the article's function
 * answered. */
export function stringify(v, sort = true, py = false) {
  if (v === null || v === undefined) return 'null';
  if (v instanceof NumberValue) return py && v.raw !== undefined ? v.raw : normalizeNumber(v.value).text;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString(); // surge keeps its deepest containers as JSON text
  const str = py ? pyString : JSON.stringify;
  if (Array.isArray(v)) return '[' + v.map((x) => stringify(x, sort, py)).join(py ? ', ' : ',') + ']';
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (sort && !py) keys.sort(byBytes);
    return '{' + keys.map((k) => str(k) + (py ? ': ' : ':') + stringify(v[k], sort, py)).join(py ? ', ' : ',') + '}';
  }
  return typeof v === 'string' ? str(v) : JSON.stringify(v);
}

/** A string as Python's json.dumps writes it: what is not printable ASCII
 * escaped as \uXXXX. */
function pyString(s) {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Name order as surge sorts members: by their UTF-8 bytes. */
function byBytes(a, b) {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Parses an item body: its attributes (server-managed ones dropped) and
 * the id it asks for, if any. */
export function parseBody(text) {
  if (!text.trim()) throw invalid('The body is empty; it must be a JSON object.');
  const body = parseJSON(text);
  if (body === null || typeof body !== 'object' || Array.isArray(body) || body instanceof NumberValue) {
    throw invalid('The body must be a JSON object.');
  }
  if (Object.hasOwn(body, 'id') && typeof body.id !== 'string') throw invalid('The "id" attribute must be a string.');
  const attrs = {};
  for (const [k, v] of Object.entries(body)) {
    if (!SERVER_MANAGED.has(k)) attrs[k] = v;
  }
  return { attrs, id: Object.hasOwn(body, 'id') ? body.id : undefined };
}

// -- ids, timestamps, cursors -------------------------------------------------

export function validateId(id) {
  if (typeof id !== 'string' || id.length < 1 || id.length > 128) throw invalid('An id is 1 to 128 characters.');
  if (!ID_RE.test(id)) {
    throw invalid("An id has letters, digits, '.', '_' and '-', and begins with a letter or digit.");
  }
}

/** A time-ordered id: a UUIDv7. */
export function newId() {
  const b = randomBytes(16);
  const ms = BigInt(Date.now());
  for (let i = 0; i < 6; i++) b[i] = Number((ms >> BigInt(8 * (5 - i))) & 0xffn);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const newRev = () => randomBytes(8).toString('hex');
const num = (v) => Number(v instanceof NumberValue ? v.value : v);
const timestamp = (ms) => new Date(num(ms)).toISOString();

export const encodeCursor = (after) => Buffer.from(CURSOR_PREFIX + after).toString('base64url');

export function decodeCursor(cursor) {
  const bad = invalid('The cursor is not one this service returned.');
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) throw bad;
  const raw = Buffer.from(cursor, 'base64url').toString();
  if (!raw.startsWith(CURSOR_PREFIX) || !ID_RE.test(raw.slice(CURSOR_PREFIX.length))) throw bad;
  return raw.slice(CURSOR_PREFIX.length);
}

// -- items --------------------------------------------------------------------

/** An item's JSON, as the contract writes it: id, version, createdAt,
 * updatedAt, then the client's attributes in name order. */
export function itemJSON(rec) {
  const attrs = stringify(rec.attrs ?? {});
  const head = `{"id":${JSON.stringify(rec.id)},"version":${num(rec.version)},"createdAt":"${timestamp(rec.createdAt)}","updatedAt":"${timestamp(rec.updatedAt)}"`;
  return head + (attrs === '{}' ? '}' : ',' + attrs.slice(1));
}

/** The item as an object in the contract's member order (for the dispatcher). */
export function itemObject(rec) {
  const out = { id: rec.id, version: num(rec.version), createdAt: timestamp(rec.createdAt), updatedAt: timestamp(rec.updatedAt) };
  for (const k of Object.keys(rec.attrs ?? {}).sort(byBytes)) out[k] = rec.attrs[k];
  return out;
}

export const etag = (rec) => `"${rec.rev}"`;

function checkSize(rec) {
  if (Buffer.byteLength(itemJSON(rec)) > MAX_ITEM_SIZE) {
    throw new ApiError(413, 'too_large', `The item is over ${MAX_ITEM_SIZE} bytes.`);
  }
}

export async function get(tenant, id, consistent = false) {
  const out = await send(new GetCommand({ TableName: TABLE_NAME, Key: { tenant, id }, ConsistentRead: consistent }));
  if (!out.Item) throw notFound();
  return out.Item;
}

export async function create(tenant, id, attrs) {
  const ms = Date.now();
  const rec = { tenant, id, version: 1, rev: newRev(), createdAt: ms, updatedAt: ms, attrs };
  checkSize(rec);
  try {
    await send(new PutCommand({ TableName: TABLE_NAME, Item: rec, ConditionExpression: 'attribute_not_exists(id)' }));
  } catch (err) {
    if (conditionFailed(err)) throw new ApiError(409, 'conflict', `An item with id ${JSON.stringify(id)} exists.`);
    throw err;
  }
  return rec;
}

/** Writes attrs over cur, on condition that the item is still cur; null
 * when it changed meanwhile (or is gone). */
export async function replace(tenant, id, attrs, cur) {
  const rec = { ...cur, version: num(cur.version) + 1, rev: newRev(), updatedAt: Math.max(Date.now(), num(cur.createdAt)), attrs };
  checkSize(rec);
  try {
    await send(new PutCommand({ TableName: TABLE_NAME, Item: rec, ConditionExpression: 'rev = :rev',
      ExpressionAttributeValues: { ':rev': cur.rev } }));
  } catch (err) {
    if (conditionFailed(err)) return null;
    throw err;
  }
  return rec;
}

/** Deletes cur, on condition that the item is still cur; false when it
 * changed meanwhile (or is gone). */
export async function remove(tenant, id, cur) {
  try {
    await send(new DeleteCommand({ TableName: TABLE_NAME, Key: { tenant, id }, ConditionExpression: 'rev = :rev',
      ExpressionAttributeValues: { ':rev': cur.rev } }));
  } catch (err) {
    if (conditionFailed(err)) return false;
    throw err;
  }
  return true;
}

/** A page of the tenant's items in id order after the id after (undefined:
 * from the first), at most limit items and about 1 MB; and the id to
 * resume after, or undefined on the last page. */
export async function listPage(tenant, limit, after) {
  const input = {
    TableName: TABLE_NAME,
    KeyConditionExpression: 'tenant = :t AND id >= :first',
    ExpressionAttributeValues: { ':t': tenant, ':first': FIRST_ID },
  };
  if (after) input.ExclusiveStartKey = { tenant, id: after };
  const page = [];
  let size = 0;
  for (;;) {
    // One more than the page holds, to learn whether more remain.
    input.Limit = limit - page.length + 1;
    const out = await send(new QueryCommand(input));
    for (const rec of out.Items ?? []) {
      const n = Buffer.byteLength(itemJSON(rec));
      if (page.length === limit || (page.length > 0 && size + n > MAX_PAGE_BYTES)) {
        return [page, page[page.length - 1].id];
      }
      size += n;
      page.push(rec);
    }
    if (!out.LastEvaluatedKey) return [page, undefined];
    input.ExclusiveStartKey = out.LastEvaluatedKey;
  }
}
