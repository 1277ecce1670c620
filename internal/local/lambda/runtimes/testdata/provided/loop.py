"""A minimal custom runtime: answers every event with its handler name and event."""

import http.client
import json
import os

host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))
while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = conn.getresponse()
    event = json.loads(resp.read())
    req_id = resp.getheader("Lambda-Runtime-Aws-Request-Id")
    body = json.dumps({"handler": os.environ["_HANDLER"], "event": event,
                       "executionEnv": os.environ.get("AWS_EXECUTION_ENV"), "cwd": os.getcwd()})
    conn.request("POST", "/2018-06-01/runtime/invocation/%s/response" % req_id, body=body)
    conn.getresponse().read()
