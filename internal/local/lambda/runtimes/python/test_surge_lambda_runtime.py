"""Tests of surge_lambda_runtime: the client runs as a real process against
a fake Runtime API served over loopback by this test, and each test checks
what the client asked for and posted, and what it wrote to its output.

Run with: python3 -m unittest discover -s internal/local/lambda/runtimes/python
"""

import decimal
import http.server
import json
import os
import queue
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "surge_lambda_runtime.py")
sys.path.insert(0, HERE)
import surge_lambda_runtime as ric  # noqa: E402

WAIT = 20  # seconds: a bound on every wait, never a pause


class FakeRuntimeAPI(object):
    """The Runtime API's four paths. Events queued with add() are handed to
    /next in order; every POST is recorded for posted() to return."""

    def __init__(self):
        self.events = queue.Queue()
        self.posts = queue.Queue()
        self.nexts = queue.Queue()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self._answer(404, b'{"errorType":"InvalidRequest"}')
                api.nexts.put(dict(self.headers))
                ev = api.events.get()
                if ev is None:  # stop: hang up, as the pool does
                    self.close_connection = True
                    return
                req_id, body, headers = ev
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", req_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 3000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:000000000000:function:fn")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")
                self.send_header("Content-Type", "application/json")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                api.posts.put((self.path, dict(self.headers), body))
                self._answer(202, b'{"status":"OK"}')

            def _answer(self, status, body):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client killed mid-request
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        self.address = "127.0.0.1:%d" % self.server.server_address[1]

    def add(self, req_id, event, headers=None):
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        self.events.put((req_id, body, headers or {}))

    def posted(self):
        path, headers, body = self.posts.get(timeout=WAIT)
        return path, headers, body

    def close(self):
        for _ in range(4):
            self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.api = FakeRuntimeAPI()
        self.addCleanup(self.api.close)
        self.root = tempfile.mkdtemp(prefix="surge-python-ric-")
        self.proc = None

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
        if self.proc is not None:
            self.proc.stdout.close()

    def write(self, name, code):
        path = os.path.join(self.root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(code))

    def start(self, handler, **env):
        full = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": self.root,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2026/03/02/[$LATEST]abc",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        full.update(env)
        self.proc = subprocess.Popen([sys.executable, CLIENT], env=full, cwd=self.root, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)

    def output(self):
        """Everything the client wrote, once it has exited."""
        self.api.close()
        out, _ = self.proc.communicate(timeout=WAIT)
        return out.decode()

    def test_answer_and_context(self):
        self.write("app.py", """
            import os
            def handler(event, context):
                return {
                    "event": event,
                    "aws_request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "function_version": context.function_version,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                    "remaining": context.get_remaining_time_in_millis(),
                    "identity": context.identity.cognito_identity_id,
                    "client_custom": context.client_context.custom if context.client_context else None,
                    "trace": os.environ.get("_X_AMZN_TRACE_ID"),
                    "cwd": os.getcwd(),
                }
        """)
        self.start("app.handler")
        self.api.add("req-1", {"a": 1}, {"Lambda-Runtime-Client-Context": '{"custom":{"k":"v"}}',
                                         "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"id-7"}'})
        path, headers, body = self.api.posted()
        self.assertEqual(path, "/2018-06-01/runtime/invocation/req-1/response")
        self.assertEqual(headers.get("Content-Type"), "application/json")
        got = json.loads(body)
        self.assertEqual(got["event"], {"a": 1})
        self.assertEqual(got["aws_request_id"], "req-1")
        self.assertEqual(got["function_name"], "fn")
        self.assertEqual(got["function_version"], "$LATEST")
        self.assertEqual(got["invoked_function_arn"], "arn:aws:lambda:us-east-1:000000000000:function:fn")
        self.assertEqual(got["memory_limit_in_mb"], "512")
        self.assertEqual(got["log_group_name"], "/aws/lambda/fn")
        self.assertEqual(got["log_stream_name"], "2026/03/02/[$LATEST]abc")
        self.assertTrue(0 < got["remaining"] <= 3000, got["remaining"])
        self.assertEqual(got["identity"], "id-7")
        self.assertEqual(got["client_custom"], {"k": "v"})
        self.assertEqual(got["trace"], "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")
        self.assertEqual(os.path.realpath(got["cwd"]), os.path.realpath(self.root))

        # The same process takes the next event (a warm invocation).
        self.api.add("req-2", [1, 2])
        path, _, body = self.api.posted()
        self.assertEqual(path, "/2018-06-01/runtime/invocation/req-2/response")
        self.assertEqual(json.loads(body)["event"], [1, 2])

    def test_endpoint_variables(self):
        # A botocore older than 1.31 that does not read the endpoint
        # variables itself, and one that does: the client teaches the first.
        for version, want in (("1.29.27", "http://127.0.0.1:4567"), ("1.31.0", None)):
            with self.subTest(version=version):
                self.api = FakeRuntimeAPI()
                self.addCleanup(self.api.close)
                self.write("botocore/__init__.py", "__version__ = %r\n" % version)
                self.write("botocore/session.py", """
                    class Session(object):
                        def create_client(self, service_name, region_name=None, api_version=None,
                                          use_ssl=True, verify=None, endpoint_url=None):
                            return endpoint_url
                """)
                self.write("app.py", """
                    import botocore.session
                    def handler(event, context):
                        s = botocore.session.Session()
                        return [s.create_client("dynamodb"), s.create_client("s3"),
                                s.create_client("dynamodb", endpoint_url="http://given")]
                """)
                self.start("app.handler", AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:4567")
                self.api.add("req-1", {})
                _, _, body = self.api.posted()
                self.assertEqual(json.loads(body), [want, None, "http://given"])
                self.proc.kill()
                self.proc.wait(WAIT)
                self.proc.stdout.close()
                self.proc = None

    def test_handler_error(self):
        self.write("app.py", """
            def handler(event, context):
                helper()
            def helper():
                raise ValueError("boom " + "x")
        """)
        self.start("app.handler")
        self.api.add("req-e", {})
        path, headers, body = self.api.posted()
        self.assertEqual(path, "/2018-06-01/runtime/invocation/req-e/error")
        self.assertEqual(headers.get("Lambda-Runtime-Function-Error-Type"), "ValueError")
        self.assertIn("Lambda-Runtime-Function-XRay-Error-Cause", headers)
        err = json.loads(body)
        self.assertEqual(list(err), ["errorMessage", "errorType", "requestId", "stackTrace"])
        self.assertEqual(err["errorMessage"], "boom x")
        self.assertEqual(err["errorType"], "ValueError")
        self.assertEqual(err["requestId"], "req-e")
        self.assertEqual(len(err["stackTrace"]), 2, err["stackTrace"])
        self.assertTrue(err["stackTrace"][0].startswith('  File "%s", line 3, in handler\n' % os.path.join(self.root, "app.py")),
                        err["stackTrace"][0])
        self.assertIn("raise ValueError", err["stackTrace"][1])
        # The process goes on after a handler error.
        self.api.add("req-f", {})
        path, _, _ = self.api.posted()
        self.assertEqual(path, "/2018-06-01/runtime/invocation/req-f/error")
        out = self.output()
        # The error is one log line, its lines joined by \r.
        lines = [l for l in out.split("\n") if l.startswith("[ERROR] ValueError: boom x")]
        self.assertEqual(len(lines), 2, out)
        self.assertIn("\rTraceback (most recent call last):\r", lines[0])
        self.assertIn("\r\u00a0\u00a0File ", lines[0])

    def test_init_errors(self):
        self.write("app.py", "def handler(event, context):\n    return 1\n")
        self.write("broken.py", "def handler(event, context)\n    return 1\n")
        self.write("raises.py", "raise RuntimeError('no config')\n")
        self.write("needs.py", "import boto9\n")
        cases = [
            ("nope.handler", "Runtime.ImportModuleError", "Unable to import module 'nope': No module named 'nope'"),
            ("needs.handler", "Runtime.ImportModuleError", "Unable to import module 'needs': No module named 'boto9'"),
            ("app.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app'"),
            ("broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken': "),
            ("app", "Runtime.MalformedHandlerName", "Bad handler 'app': "),
            ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
            ("raises.handler", "RuntimeError", "no config"),
        ]
        for handler, typ, msg in cases:
            with self.subTest(handler=handler):
                api = FakeRuntimeAPI()
                self.addCleanup(api.close)
                env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.address, _HANDLER=handler, LAMBDA_TASK_ROOT=self.root,
                           PYTHONDONTWRITEBYTECODE="1")
                proc = subprocess.run([sys.executable, CLIENT], env=env, cwd=self.root, capture_output=True,
                                      timeout=WAIT)
                self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
                path, headers, body = api.posted()
                self.assertEqual(path, "/2018-06-01/runtime/init/error")
                err = json.loads(body)
                self.assertEqual(err["errorType"], typ)
                self.assertTrue(err["errorMessage"].startswith(msg), err["errorMessage"])
                self.assertEqual(err["requestId"], "")
                self.assertEqual(headers.get("Lambda-Runtime-Function-Error-Type"), typ)
                self.assertIn(b"[ERROR] " + typ.encode(), proc.stdout)
                self.assertTrue(api.nexts.empty(), "asked for an event after a failed init")
                if typ == "Runtime.UserCodeSyntaxError":
                    self.assertIn("broken.py\" Line 1", err["stackTrace"][0])

    def test_subpackage_handlers(self):
        self.write("pkg/__init__.py", "")
        self.write("pkg/sub/__init__.py", "")
        self.write("pkg/sub/mod.py", "def handler(event, context):\n    return {'where': __name__}\n")
        for handler in ("pkg/sub/mod.handler", "pkg.sub.mod.handler"):
            with self.subTest(handler=handler):
                api = FakeRuntimeAPI()
                self.addCleanup(api.close)
                env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=api.address, _HANDLER=handler, LAMBDA_TASK_ROOT=self.root,
                           PYTHONDONTWRITEBYTECODE="1")
                proc = subprocess.Popen([sys.executable, CLIENT], env=env, cwd="/", stdout=subprocess.DEVNULL)
                self.addCleanup(proc.wait, WAIT)
                self.addCleanup(proc.kill)
                api.add("r", {})
                _, _, body = api.posted()
                self.assertEqual(json.loads(body), {"where": "pkg.sub.mod"})

    def test_logs_line_by_line(self):
        self.write("app.py", """
            import logging
            logger = logging.getLogger()
            print("at init")
            def handler(event, context):
                print("printed", event["n"])
                logger.info("logged %d", event["n"])
                logger.debug("not at INFO")
                context.log("via context\\n")
                return "ok"
        """)
        self.start("app.handler", AWS_LAMBDA_LOG_LEVEL="INFO")
        self.api.add("req-log", {"n": 7})
        self.api.posted()
        out = self.output()
        lines = out.split("\n")
        self.assertIn("at init", lines)
        self.assertIn("printed 7", lines)
        self.assertIn("via context", lines)
        info = [l for l in lines if l.startswith("[INFO]\t")]
        self.assertEqual(len(info), 1, out)
        parts = info[0].split("\t")
        self.assertEqual(parts[2], "req-log")
        self.assertEqual(parts[3], "logged 7")
        self.assertRegex(parts[1], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertNotIn("not at INFO", out)

    def test_json_logs(self):
        self.write("app.py", """
            import logging
            def handler(event, context):
                logging.getLogger("app").warning("careful %s", event["n"])
                raise KeyError("k")
        """)
        self.start("app.handler", AWS_LAMBDA_LOG_FORMAT="JSON")
        self.api.add("req-json", {"n": 3})
        self.api.posted()
        lines = [json.loads(line) for line in self.output().split("\n") if line.startswith("{")]
        self.assertEqual(len(lines), 2, lines)
        warn, err = lines
        self.assertEqual((warn["level"], warn["message"], warn["logger"], warn["requestId"]),
                         ("WARNING", "careful 3", "app", "req-json"))
        self.assertRegex(warn["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((err["level"], err["errorType"], err["requestId"]), ("ERROR", "KeyError", "req-json"))

    def test_marshalling(self):
        self.write("app.py", """
            import decimal
            def handler(event, context):
                kind = event["kind"]
                if kind == "decimal":
                    return {"n": decimal.Decimal("12345678901234567890.125"), "l": [decimal.Decimal("1.10")], "s": "é"}
                if kind == "bytes":
                    return b"\\x00raw"
                if kind == "none":
                    return None
                return {"set": {1}}
        """)
        self.start("app.handler")
        self.api.add("r1", {"kind": "decimal"})
        _, headers, body = self.api.posted()
        self.assertEqual(body.decode(), '{"n": 12345678901234567890.125, "l": [1.10], "s": "é"}')
        self.api.add("r2", {"kind": "bytes"})
        _, headers, body = self.api.posted()
        self.assertEqual(body, b"\x00raw")
        self.assertEqual(headers.get("Content-Type"), "application/unknown")
        self.api.add("r3", {"kind": "none"})
        self.assertEqual(self.api.posted()[2], b"null")
        self.api.add("r4", {"kind": "set"})
        path, _, body = self.api.posted()
        self.assertTrue(path.endswith("/r4/error"))
        err = json.loads(body)
        self.assertEqual(err["errorType"], "Runtime.MarshalError")
        self.assertTrue(err["errorMessage"].startswith("Unable to marshal response: "), err)
        self.api.add("r5", b"{not json")
        path, _, body = self.api.posted()
        self.assertTrue(path.endswith("/r5/error"))
        self.assertEqual(json.loads(body)["errorType"], "Runtime.UnmarshalError")

    def test_exits_when_the_api_is_gone(self):
        self.write("app.py", "def handler(event, context):\n    return 1\n")
        self.start("app.handler")
        self.api.nexts.get(timeout=WAIT)  # waiting in /next
        out = self.output()
        self.assertEqual(self.proc.returncode, 1, out)


class EncoderTest(unittest.TestCase):
    def test_json_as_aws_writes_it(self):
        os.environ.pop("AWS_EXECUTION_ENV", None)
        cases = [
            ({"a": [1, 2.5, None, True]}, '{"a": [1, 2.5, null, true]}'),
            ({"d": decimal.Decimal("1E+3")}, '{"d": 1E+3}'),
            ([decimal.Decimal("-0.000000000000000000000000000000000001")], "[-1E-36]"),
            ({"nan": decimal.Decimal("NaN"), "f": float("inf")}, '{"nan": NaN, "f": Infinity}'),
            ({"s": "é"}, '{"s": "\\u00e9"}'),
        ]
        for value, want in cases:
            self.assertEqual(ric.to_json(value), want)
        os.environ["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.12"
        try:
            self.assertEqual(ric.to_json({"s": "é", "d": decimal.Decimal("2")}), '{"s": "é", "d": 2}')
        finally:
            del os.environ["AWS_EXECUTION_ENV"]


if __name__ == "__main__":
    unittest.main()
