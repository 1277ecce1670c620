"""The items table as surge lays it out, with boto3.

One table holds every tenant's items, as surge's own DynamoDB store keeps
them (internal/store/dynamo), so that this function, the Node.js example
and `surge serve --store dynamodb://TABLE` share a table:

    tenant     S   the partition key
    id         S   the item id, the sort key
    version    N   1 on create, +1 on every write
    rev        S   the revision token, the ETag's value
    createdAt  N   Unix time in milliseconds
    updatedAt  N
    attrs      M   the client's attributes, as native DynamoDB values

Numbers are Decimals, as boto3 wants them, so they keep their exact value.
"""

import base64
import decimal
import json
import os
import secrets
import time

import boto3
from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

MAX_ITEM_SIZE = 400 * 1024
MAX_BODY = MAX_ITEM_SIZE + 64 * 1024
MAX_DEPTH = 31  # DynamoDB nests 32 levels counting the stored item; the attributes sit one down
DEFAULT_LIMIT, MAX_LIMIT = 50, 1000
MAX_PAGE_BYTES = 1 << 20
FIRST_ID = "0"  # the least id: the tenant's other records (idempotency, "#...") sort before it
CURSOR_PREFIX = "c1:"
ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
SERVER_MANAGED = ("id", "version", "createdAt", "updatedAt")
# Exact arithmetic for the checks and the normalization: the default
# context would round to 28 digits.
EXACT = decimal.Context(prec=200, Emax=999999, Emin=-999999)


class ApiError(Exception):
    """An error of the contract: an HTTP status, a code and a message."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def invalid(message):
    return ApiError(400, "invalid", message)


def not_found():
    return ApiError(404, "not_found", "Item not found.")


def precondition_failed():
    return ApiError(412, "precondition_failed", "The item has changed (If-Match does not match).")


# -- the table, made once per instance (at init, outside the handler) ---------

# Debian's boto3 may predate AWS_ENDPOINT_URL_DYNAMODB, so the endpoint is
# read here and passed on.
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL") or None
TABLE_NAME = os.environ.get("TABLE_NAME", "items")
_dynamodb = boto3.resource("dynamodb", endpoint_url=ENDPOINT)
table = _dynamodb.Table(TABLE_NAME)


# Time spent in DynamoDB calls during the current request, for Server-Timing.
store_seconds = [0.0]


def timed(call, **kwargs):
    """Makes one DynamoDB call, adding its time to store_seconds."""
    start = time.perf_counter()
    try:
        return call(**kwargs)
    finally:
        store_seconds[0] += time.perf_counter() - start


def store_error(err):
    """The contract's error for a DynamoDB error that is not a condition."""
    code = err.response.get("Error", {}).get("Code", "")
    msg = err.response.get("Error", {}).get("Message", "")
    if code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
        return ApiError(503, "unavailable", "DynamoDB is throttling; retry later.", 1)
    if code == "ValidationException" and "item size" in msg.lower() and "exceeded" in msg.lower():
        return ApiError(413, "too_large", "The item is over %d bytes as DynamoDB counts them." % MAX_ITEM_SIZE)
    return err


def condition_failed(err):
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


# -- JSON ---------------------------------------------------------------------


def number_text(d):
    """A number's text, normalized as DynamoDB normalizes it (1.10 -> 1.1,
    1.5e3 -> 1500), written without an exponent, as surge writes numbers."""
    if isinstance(d, bool):
        raise TypeError("a bool is not a number")
    if isinstance(d, int):
        return str(d)
    return format(d.normalize(EXACT), "f")


def dumps(v, sort=True, py=False):
    """Compact JSON with numbers written exactly and object members in name
    order at every level, as surge writes items; with py, as Python's
    json.dumps writes it instead (", " and ": ", ASCII, members in order)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=py)
    if isinstance(v, (int, decimal.Decimal)):
        return number_text(v)
    if isinstance(v, float):
        return json.dumps(v)
    if isinstance(v, dict):
        keys = sorted(v) if sort and not py else list(v)
        sep, colon = (", ", ": ") if py else (",", ":")
        return "{" + sep.join(json.dumps(k, ensure_ascii=py) + colon + dumps(v[k], sort, py) for k in keys) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + (", " if py else ",").join(dumps(x, sort, py) for x in v) + "]"
    if isinstance(v, (bytes, bytearray, Binary)):
        # surge keeps a container at the deepest level as its JSON text.
        return bytes(v.value if hasattr(v, "value") else v).decode()
    raise TypeError("cannot encode %r" % type(v))


def _reject_constant(name):
    raise invalid("Malformed JSON: %s is not a JSON value." % name)


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k == "":
            raise invalid("An attribute name must not be empty.")
        if k in obj:
            raise invalid("Malformed JSON: duplicate name %s." % json.dumps(k))
        obj[k] = v
    return obj


def _depth(v, level=1):
    if isinstance(v, dict):
        return max([level] + [_depth(x, level + 1) for x in v.values()])
    if isinstance(v, list):
        return max([level] + [_depth(x, level + 1) for x in v])
    return level - 1


def parse_body(text):
    """Parses an item body: its attributes (server-managed ones dropped) and
    the id it asks for, if any. Numbers become Decimals, refused when
    DynamoDB could not keep them exactly."""
    if not text.strip():
        raise invalid("The body is empty; it must be a JSON object.")
    try:
        body = json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal,
                          parse_constant=_reject_constant, object_pairs_hook=_no_duplicates)
    except ApiError:
        raise
    except (ValueError, RecursionError) as e:
        raise invalid("Malformed JSON: %s." % str(e).split(":")[0])
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object.")
    if _depth(body) > MAX_DEPTH:
        raise invalid("An item may nest at most %d levels deep." % MAX_DEPTH)
    _check_numbers(body)
    item_id = body.get("id")
    if "id" in body and not isinstance(item_id, str):
        raise invalid('The "id" attribute must be a string.')
    attrs = {k: v for k, v in body.items() if k not in SERVER_MANAGED}
    return attrs, item_id


def _check_numbers(v):
    if isinstance(v, dict):
        for x in v.values():
            _check_numbers(x)
    elif isinstance(v, list):
        for x in v:
            _check_numbers(x)
    elif isinstance(v, decimal.Decimal):
        n = v.normalize(EXACT)
        digits = len(n.as_tuple().digits)
        if digits > 38:
            raise invalid("The number %s has more than 38 significant digits, which cannot be stored exactly." % v)
        if n != 0 and not (decimal.Decimal("1E-130") <= abs(n) < decimal.Decimal("1E+126")):
            raise invalid("The number %s is outside the storable range (1E-130 to 9.99E+125 in magnitude)." % v)


# -- ids, timestamps, cursors -------------------------------------------------


def validate_id(item_id):
    if not item_id or len(item_id) > 128:
        raise invalid("An id is 1 to 128 characters.")
    if not (item_id[0].isascii() and item_id[0].isalnum()) or any(c not in ID_CHARS for c in item_id):
        raise invalid("An id has letters, digits, '.', '_' and '-', and begins with a letter or digit.")


def new_id():
    """A time-ordered id: a UUIDv7."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    v = (ms << 80) | (0x7 << 76) | (((rand >> 62) & 0xFFF) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    h = "%032x" % v
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def new_rev():
    return secrets.token_hex(8)


def now_ms():
    return int(time.time() * 1000)


def timestamp(ms):
    ms = int(ms)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def encode_cursor(after_id):
    return base64.urlsafe_b64encode((CURSOR_PREFIX + after_id).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    bad = invalid("The cursor is not one this service returned.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        raise bad
    if not raw.startswith(CURSOR_PREFIX):
        raise bad
    after = raw[len(CURSOR_PREFIX):]
    try:
        validate_id(after)
    except ApiError:
        raise bad
    return after


# -- items --------------------------------------------------------------------


def item_json(rec):
    """An item's JSON, as the contract writes it: id, version, createdAt,
    updatedAt, then the client's attributes in name order."""
    head = '{"id":%s,"version":%s,"createdAt":"%s","updatedAt":"%s"' % (
        json.dumps(rec["id"]), number_text(rec["version"]), timestamp(rec["createdAt"]), timestamp(rec["updatedAt"]))
    attrs = dumps(rec.get("attrs") or {})
    return head + ("," + attrs[1:] if attrs != "{}" else "}")


def item_dict(rec):
    """The item as a dict in the contract's member order (for the dispatcher)."""
    out = {"id": rec["id"], "version": rec["version"], "createdAt": timestamp(rec["createdAt"]),
           "updatedAt": timestamp(rec["updatedAt"])}
    for k in sorted(rec.get("attrs") or {}):
        out[k] = rec["attrs"][k]
    return out


def etag(rec):
    return '"%s"' % rec["rev"]


def check_size(rec):
    if len(item_json(rec).encode()) > MAX_ITEM_SIZE:
        raise ApiError(413, "too_large", "The item is over %d bytes." % MAX_ITEM_SIZE)


def get(tenant, item_id, consistent=False):
    try:
        out = timed(table.get_item, Key={"tenant": tenant, "id": item_id}, ConsistentRead=consistent)
    except ClientError as e:
        raise store_error(e)
    rec = out.get("Item")
    if rec is None:
        raise not_found()
    return rec


def create(tenant, item_id, attrs):
    ms = now_ms()
    rec = {"tenant": tenant, "id": item_id, "version": 1, "rev": new_rev(), "createdAt": ms, "updatedAt": ms,
           "attrs": attrs}
    check_size(rec)
    try:
        timed(table.put_item, Item=rec, ConditionExpression="attribute_not_exists(id)")
    except ClientError as e:
        if condition_failed(e):
            raise ApiError(409, "conflict", "An item with id %s exists." % json.dumps(item_id))
        raise store_error(e)
    return rec


def replace(tenant, item_id, attrs, cur):
    """Writes attrs over cur, on condition that the item is still cur; None
    when it changed meanwhile (or is gone)."""
    rec = dict(cur, version=int(cur["version"]) + 1, rev=new_rev(), updatedAt=max(now_ms(), int(cur["createdAt"])),
               attrs=attrs)
    check_size(rec)
    try:
        timed(table.put_item, Item=rec, ConditionExpression="rev = :rev", ExpressionAttributeValues={":rev": cur["rev"]})
    except ClientError as e:
        if condition_failed(e):
            return None
        raise store_error(e)
    return rec


def delete(tenant, item_id, cur):
    """Deletes cur, on condition that the item is still cur; False when it
    changed meanwhile (or is gone)."""
    try:
        timed(table.delete_item, Key={"tenant": tenant, "id": item_id}, ConditionExpression="rev = :rev",
              ExpressionAttributeValues={":rev": cur["rev"]})
    except ClientError as e:
        if condition_failed(e):
            return False
        raise store_error(e)
    return True


def list_page(tenant, limit, after):
    """A page of the tenant's items in id order after the id after (None:
    from the first), at most limit items and about 1 MB; and the id to
    resume after, or None on the last page."""
    cond = Key("tenant").eq(tenant) & Key("id").gte(FIRST_ID)
    args = {"KeyConditionExpression": cond}
    if after:
        args["ExclusiveStartKey"] = {"tenant": tenant, "id": after}
    page, size = [], 0
    while True:
        # One more than the page holds, to learn whether more remain.
        args["Limit"] = limit - len(page) + 1
        try:
            out = timed(table.query, **args)
        except ClientError as e:
            raise store_error(e)
        for rec in out.get("Items", []):
            n = len(item_json(rec).encode())
            if len(page) == limit or (page and size + n > MAX_PAGE_BYTES):
                return page, page[-1]["id"]
            size += n
            page.append(rec)
        if "LastEvaluatedKey" not in out:
            return page, None
        args["ExclusiveStartKey"] = out["LastEvaluatedKey"]
