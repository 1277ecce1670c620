"""The article's application as a Python Lambda function, written for surge.

Two handlers, over one DynamoDB table laid out as surge's own store lays it
out (items.py), so that surge, this function and the Node.js example share
it:

  lambda_handler  the article's operation dispatcher, as its code shows it
                  (POST /DynamoDBManager, or a direct invocation)
  items_handler   the article's five routes, serving surge's contract
                  (docs/API.md): POST /items, GET /items, GET /items/{id},
                  PUT /items/{id}, DELETE /items/{id}

Environment: TABLE_NAME (default items); AWS_ENDPOINT_URL_DYNAMODB, the
table's endpoint off AWS (read here, since Debian's boto3 predates it);
OPS_TABLE_NAME, the tableName the dispatcher accepts (default TABLE_NAME);
CACHE_CONTROL, the Cache-Control of GET /items/{id} (default no-cache).
"""

import base64
import json
import os
import re
import time
from typing import Any, Dict

import items
from items import ApiError, invalid

OPS_TABLE_NAME = os.environ.get("OPS_TABLE_NAME") or items.TABLE_NAME
CACHE_CONTROL = os.environ.get("CACHE_CONTROL", "no-cache")
MAX_WRITE_ATTEMPTS = 16


def tenant_of(event):
    """The tenant API Gateway vouches for: a Lambda authorizer's, else the
    default tenant, as in surge."""
    auth = (event.get("requestContext") or {}).get("authorizer") or {}
    tenant = auth.get("tenant") if isinstance(auth, dict) else None
    return tenant if isinstance(tenant, str) and 0 < len(tenant) <= 128 else "default"


def json_response(status, body, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return {"statusCode": status, "headers": h, "body": body}


def error_response(err):
    headers = {}
    if err.retry_after:
        headers["Retry-After"] = str(err.retry_after)
    return json_response(err.status, items.dumps({"code": err.code, "message": err.message}, sort=False), headers)


# -- the article's dispatcher ---------------------------------------------------


class TenantTable(object):
    """The table as the dispatcher's tenant sees it, with the methods of a
    boto3 Table that the article's dispatcher calls, taking the same
    parameters (Item, Key, AttributeUpdates, Limit, ExclusiveStartKey) and
    answering in the same shapes, over surge's layout: an item's versions,
    timestamps and revision are kept as for every other write, and a tenant
    never reaches another's items."""

    def __init__(self, name, tenant):
        # Checked when an operation uses the table, as boto3's Table is
        # made without a call: an unknown operation is answered first.
        self.name, self.tenant = name, tenant

    def _only(self, op, x, *allowed):
        if self.name is not None and self.name != OPS_TABLE_NAME:
            raise invalid("The table %s is not this service's table." % json.dumps(str(self.name)[:40]))
        if not isinstance(x, dict):
            raise invalid("The %s payload must be a JSON object." % op)
        for k in x:
            if k not in allowed:
                raise invalid("The %s payload does not support %s." % (op, json.dumps(k[:40])))

    @staticmethod
    def _key(op, x, member="Key", required=True):
        key = x.get(member)
        if key is None and not required:
            return None
        if not isinstance(key, dict) or set(key) != {"id"} or not isinstance(key["id"], str):
            raise invalid('The %s must be {"id": "<string>"}.' % member)
        items.validate_id(key["id"])
        return key["id"]

    def put_item(self, **x):
        self._only("create", x, "Item")
        item = x.get("Item")
        if not isinstance(item, dict):
            raise invalid('The create payload needs an "Item".')
        attrs, item_id = items.parse_body(json.dumps(item, default=str))
        if item_id is None:
            raise invalid('The Item needs an "id".')
        items.validate_id(item_id)
        for _ in range(MAX_WRITE_ATTEMPTS):  # PutItem: create, or replace what is there
            try:
                items.create(self.tenant, item_id, attrs)
                return {}
            except ApiError as e:
                if e.status != 409:
                    raise
            try:
                cur = items.get(self.tenant, item_id, consistent=True)
            except ApiError as e:
                if e.status == 404:
                    continue
                raise
            if items.replace(self.tenant, item_id, attrs, cur) is not None:
                return {}
        raise contention()

    def get_item(self, **x):
        self._only("read", x, "Key", "ConsistentRead")
        item_id = self._key("read", x)
        if not isinstance(x.get("ConsistentRead", False), bool):
            raise invalid('"ConsistentRead" must be true or false.')
        try:
            rec = items.get(self.tenant, item_id, consistent=x.get("ConsistentRead") is True)
        except ApiError as e:
            if e.status == 404:
                return {}
            raise
        return {"Item": items.item_dict(rec)}

    def update_item(self, **x):
        self._only("update", x, "Key", "AttributeUpdates")
        item_id = self._key("update", x)
        updates = x.get("AttributeUpdates") or {}
        if not isinstance(updates, dict):
            raise invalid('"AttributeUpdates" must be a JSON object.')
        for _ in range(MAX_WRITE_ATTEMPTS):
            try:
                cur = items.get(self.tenant, item_id, consistent=True)
            except ApiError as e:
                if e.status != 404:
                    raise
                cur = None
            attrs = apply_updates(dict(cur["attrs"]) if cur else {}, updates)
            if cur is None:
                try:
                    rec = items.create(self.tenant, item_id, attrs)
                except ApiError as e:
                    if e.status == 409:
                        continue
                    raise
            else:
                rec = items.replace(self.tenant, item_id, attrs, cur)
                if rec is None:
                    continue
            return {"Attributes": items.item_dict(rec)}
        raise contention()

    def delete_item(self, **x):
        self._only("delete", x, "Key")
        item_id = self._key("delete", x)
        for _ in range(MAX_WRITE_ATTEMPTS):
            try:
                cur = items.get(self.tenant, item_id, consistent=True)
            except ApiError as e:
                if e.status == 404:
                    return {}
                raise
            if items.delete(self.tenant, item_id, cur):
                return {}
        raise contention()

    def scan(self, **x):
        self._only("list", x, "Limit", "ExclusiveStartKey", "ConsistentRead")
        if not isinstance(x.get("ConsistentRead", False), bool):
            raise invalid('"ConsistentRead" must be true or false.')
        limit = x.get("Limit", items.MAX_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise invalid('"Limit" must be an integer of at least 1.')
        after = self._key("list", x, "ExclusiveStartKey", required=False)
        page, nxt = items.list_page(self.tenant, min(limit, items.MAX_LIMIT), after)
        out = {"Items": [items.item_dict(r) for r in page], "Count": len(page), "ScannedCount": len(page)}
        if nxt is not None:
            out["LastEvaluatedKey"] = {"id": nxt}
        return out


def apply_updates(attrs, updates):
    for name, up in updates.items():
        if name == "":
            raise invalid("An attribute name must not be empty.")
        if name == "id":
            raise invalid("Cannot update attribute id. This attribute is part of the key.")
        if not isinstance(up, dict) or not set(up) <= {"Value", "Action"}:
            raise invalid("The AttributeUpdates %s payload does not support that." % json.dumps(name[:40]))
        action = up.get("Action", "PUT")
        if action == "DELETE":
            attrs.pop(name, None)
        elif action == "PUT":
            if "Value" not in up:
                raise invalid("Only DELETE action is allowed when no attribute value is specified (%s)." % json.dumps(name[:40]))
            attrs[name] = up["Value"]
        else:
            raise invalid('The Action of %s must be "PUT" or "DELETE".' % json.dumps(name[:40]))
    checked, _ = items.parse_body(items.dumps(attrs))  # the item's limits and exact numbers, on the result
    return checked


def contention():
    return ApiError(503, "unavailable", "The item is changing too often to be written now; retry.", 1)


def json_dumps(value):
    """json.dumps, as the article calls it, writing boto3's Decimals as the
    numbers they are (json.dumps alone cannot)."""
    return items.dumps(value, py=True)


def _unique_members(pairs):
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise invalid("The event has a member twice.")
    return dict(pairs)


def check_event(event):
    """Refuses, with the contract's errors, an event that the article's
    function would have failed on, or misread."""
    if isinstance(event, dict) and "body" in event:
        # Read whatever the Content-Type says, as API Gateway hands a proxy
        # integration any body and the article's function reads it; 413
        # over the limit.
        body = body_text(event, media_type=False)
        try:
            event = json.loads(body or "", object_pairs_hook=_unique_members)
        except (TypeError, ValueError):
            raise invalid('The body must be an event {"operation": ..., "payload": ...}.')
    if not isinstance(event, dict):
        raise invalid('The event must be a JSON object {"operation": ..., "payload": ...}.')
    if "operation" not in event:
        raise invalid('The event has no "operation".')
    if isinstance(event["operation"], (dict, list)):
        raise invalid('"operation" must be a string.')
    if "tableName" in event and not isinstance(event["tableName"], str):
        raise invalid('"tableName" must be a string.')


def _contract_errors(handler):
    """Answers the dispatcher's refusals with the contract's errors, where
    the article's function would have failed."""

    def wrapped(event, context):
        items.store_seconds[0] = 0.0
        try:
            check_event(event)
            if isinstance(event, dict) and event.get("isBase64Encoded") and "body" in event:
                # A body the gateway took for binary (its Content-Type is
                # not text) comes in base64: the article's function reads
                # event['body'] as JSON text, so it gets the text.
                event = dict(event, body=body_text(event, media_type=False), isBase64Encoded=False)
            return handler(event, context)
        except ApiError as e:
            return error_response(e)
        except TypeError as e:
            if "must be a mapping" in str(e):  # a payload that is not an object
                return error_response(invalid("The payload must be a JSON object."))
            raise

    wrapped.__doc__ = handler.__doc__
    return wrapped


@_contract_errors
def lambda_handler(event: Dict[str, Any], context: Any) -> Dict[str, Any]:
    '''Provide an event that contains the following keys:
      - operation: one of the operations in the operations dict below
      - tableName: required for operations that interact with DynamoDB
      - payload: a parameter to pass to the operation being performed
    '''
    tenant = tenant_of(event)  # surge: the tenant the gateway vouches for

    if 'body' in event:
        event = json.loads(event['body'])

    operation = event['operation']

    dynamo = TenantTable(None, tenant)  # surge: tableName may be left out
    if 'tableName' in event:
        dynamo = TenantTable(event['tableName'], tenant)

    operations = {
        'create': lambda x: dynamo.put_item(**x),
        'read': lambda x: dynamo.get_item(**x),
        'update': lambda x: dynamo.update_item(**x),
        'delete': lambda x: dynamo.delete_item(**x),
        'list': lambda x: dynamo.scan(**x),
        'echo': lambda x: x,
        'ping': lambda x: 'pong'
    }

    if operation in operations:
        response = operations[operation](event.get('payload', {}))
        return {
            'statusCode': 200,
            'headers': {
                'Content-Type': 'application/json',
                'Access-Control-Allow-Origin': '*'
            },
            'body': json_dumps(response)
        }
    else:
        return {
            'statusCode': 400,
            'body': json.dumps({
                'error': f'Unrecognized operation "{operation}"'
            })
        }


# -- the five routes --------------------------------------------------------------


def header(event, name):
    """A request header's values (API Gateway v1 event), any case."""
    name = name.lower()
    multi = event.get("multiValueHeaders") or {}
    for k, vs in multi.items():
        if k.lower() == name and vs:
            return list(vs)
    for k, v in (event.get("headers") or {}).items():
        if k.lower() == name and v is not None:
            return [v]
    return []


def body_text(event, media_type=True):
    """The request's body as text, after its media type (where media_type)
    and size are checked as the contract wants: 415 unless JSON, 413 over
    the limit."""
    raw = event.get("body") or ""
    data = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8", "surrogatepass")
    ct = header(event, "Content-Type")
    if media_type and ct:
        parts = [p.strip() for p in ct[0].split(";")]
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        charset = params.get("charset", "utf-8").strip('"').lower()
        # An empty or malformed parameter is refused, as surge's own
        # media type parser (Go's mime) refuses it.
        malformed = any("=" not in p for p in parts[1:])
        if parts[0].lower() != "application/json" or charset != "utf-8" or malformed:
            raise ApiError(415, "unsupported_media_type", "The body must be application/json.")
    elif media_type and data:
        raise ApiError(415, "unsupported_media_type", "The body must be application/json.")
    if len(data) > items.MAX_BODY:
        raise ApiError(413, "too_large", "The request body is over %d bytes." % items.MAX_BODY)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("Malformed JSON: invalid UTF-8.")


_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*')


def entity_tags(values):
    """An If-Match or If-None-Match header: (present, any, strong, weak).
    A malformed one matches nothing."""
    if not values:
        return False, False, [], []
    anything, strong, weak = False, [], []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if part == "*":
                anything = True
                continue
            m = _TAG.fullmatch(part)
            if not m or any(ord(c) < 0x21 or ord(c) == 0x7F for c in m.group(2)):
                return True, False, [], []
            (weak if m.group(1) else strong).append(m.group(2))
    return True, anything, strong, weak


def path_id(event):
    item_id = (event.get("pathParameters") or {}).get("id") or ""
    items.validate_id(item_id)
    return item_id


def item_response(status, rec, extra=None):
    headers = {"ETag": items.etag(rec)}
    headers.update(extra or {})
    return json_response(status, items.item_json(rec), headers)


def create_item(event, tenant):
    attrs, item_id = items.parse_body(body_text(event))
    if item_id is None:
        item_id = items.new_id()
    items.validate_id(item_id)
    rec = items.create(tenant, item_id, attrs)
    return item_response(201, rec, {"Location": "/items/" + item_id})


def get_item(event, tenant):
    item_id = path_id(event)
    rec = items.get(tenant, item_id)
    present, anything, strong, weak = entity_tags(header(event, "If-None-Match"))
    if present and (anything or rec["rev"] in strong or rec["rev"] in weak):
        return {"statusCode": 304, "headers": {"ETag": items.etag(rec), "Cache-Control": CACHE_CONTROL}, "body": ""}
    return item_response(200, rec, {"Cache-Control": CACHE_CONTROL})


def put_item(event, tenant):
    item_id = path_id(event)
    attrs, body_id = items.parse_body(body_text(event))
    if body_id is not None and body_id != item_id:
        raise invalid("The body's id %s is not the path's id %s." % (json.dumps(body_id[:40]), json.dumps(item_id)))
    present, anything, strong, _ = entity_tags(header(event, "If-Match"))
    for _ in range(MAX_WRITE_ATTEMPTS):
        cur = items.get(tenant, item_id, consistent=True)
        if present and not anything and cur["rev"] not in strong:
            raise items.precondition_failed()
        rec = items.replace(tenant, item_id, attrs, cur)
        if rec is not None:
            return item_response(200, rec)
        if present and not anything:
            raise items.precondition_failed()
    raise contention()


def delete_item(event, tenant):
    item_id = path_id(event)
    present, anything, strong, _ = entity_tags(header(event, "If-Match"))
    for _ in range(MAX_WRITE_ATTEMPTS):
        cur = items.get(tenant, item_id, consistent=True)
        if present and not anything and cur["rev"] not in strong:
            raise items.precondition_failed()
        if items.delete(tenant, item_id, cur):
            return {"statusCode": 204, "headers": {}, "body": ""}
        if present and not anything:
            raise items.precondition_failed()
    raise contention()


_INT = re.compile(r"[+-]?[0-9]+")


def list_items(event, tenant):
    query = event.get("multiValueQueryStringParameters") or {
        k: [v] for k, v in (event.get("queryStringParameters") or {}).items()}
    limit = items.DEFAULT_LIMIT
    if "limit" in query:
        vs = query["limit"]
        if len(vs) != 1 or not _INT.fullmatch(vs[0]) or not 1 <= int(vs[0]) <= items.MAX_LIMIT:
            raise invalid("The limit must be one integer from 1 to %d." % items.MAX_LIMIT)
        limit = int(vs[0])
    after = None
    if "cursor" in query:
        if len(query["cursor"]) > 1:
            raise invalid("Only one cursor may be given.")
        if query["cursor"][0]:
            after = items.decode_cursor(query["cursor"][0])
    page, nxt = items.list_page(tenant, limit, after)
    body = '{"items":[' + ",".join(items.item_json(r) for r in page) + "]"
    if nxt is not None:
        body += ',"next":"%s"' % items.encode_cursor(nxt)
    return json_response(200, body + "}")


ROUTES = {
    ("POST", "/items"): create_item,
    ("GET", "/items"): list_items,
    ("GET", "/items/{id}"): get_item,
    ("PUT", "/items/{id}"): put_item,
    ("DELETE", "/items/{id}"): delete_item,
}
ALLOW = {"/items": "GET, HEAD, POST", "/items/{id}": "GET, HEAD, PUT, DELETE"}


def items_handler(event, context):
    """The five routes of a REST API (API Gateway v1 proxy events), and the
    dispatcher where the API sends /DynamoDBManager here too."""
    start = time.perf_counter()
    items.store_seconds[0] = 0.0
    resource, method = event.get("resource"), event.get("httpMethod")
    if resource not in ALLOW and resource not in ("/DynamoDBManager", "/ops"):
        # A greedy resource ({proxy+}): the route from the path, so that a
        # method the API does not route here is told apart from a path.
        parts = (event.get("path") or "").split("/")
        if len(parts) == 2 and parts[1] == "items":
            resource = "/items"
        elif len(parts) == 3 and parts[1] == "items" and parts[2] not in ("", ".", ".."):
            resource = "/items/{id}"
            event = dict(event, pathParameters={"id": parts[2]})  # the event's path is decoded
    if resource in ("/DynamoDBManager", "/ops") and method == "POST":
        return lambda_handler(event, context)
    try:
        route = ROUTES.get(("GET" if method == "HEAD" else method, resource))
        if route is not None:
            resp = route(event, tenant_of(event))
        elif resource in ALLOW:
            resp = error_response(ApiError(405, "method_not_allowed", "The method %s is not allowed here." % method))
            resp["headers"]["Allow"] = ALLOW[resource]
        else:
            resp = error_response(ApiError(404, "not_found", "No such route: %s." % (event.get("path") or "")[:40]))
    except ApiError as e:
        resp = error_response(e)
    resp["headers"]["Server-Timing"] = "store;dur=%.2f, total;dur=%.2f" % (
        items.store_seconds[0] * 1000, (time.perf_counter() - start) * 1000)
    return resp
