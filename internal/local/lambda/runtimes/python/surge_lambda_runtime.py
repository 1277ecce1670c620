"""surge's runtime interface client for Lambda's python3.x runtimes.

It runs a Python handler (the function's _HANDLER, "module.function",
"package.module.function" or "package/module.function", resolved from
LAMBDA_TASK_ROOT) the way Lambda's Python runtime does, speaking the Lambda
Runtime API (2018-06-01) at AWS_LAMBDA_RUNTIME_API: it asks for each event
(GET /runtime/invocation/next), calls the handler with the event and a
context object, and posts the answer (/invocation/{id}/response) or the
error (/invocation/{id}/error), with the shapes, error types and log lines
of AWS's own client (awslambdaric). An init failure (a module that does not
import, a handler that is missing, a syntax error) goes to
/runtime/init/error and the process exits with status 1.

It uses Python's standard library only, so that any python3 runs it, and
imports little of it, so that a cold start pays for little; run it as
`python3 surge_lambda_runtime.py [handler]`.
"""

import decimal
import importlib
import json
import json.encoder
import logging
import os
import socket
import sys
import time
import traceback

API_PREFIX = "/2018-06-01/runtime/"
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as AWS's client indents tracebacks in the log
_THIS_FILE = os.path.abspath(__file__)


class FaultException(Exception):
    """A failure of the runtime's own work, with the error type Lambda reports."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


# -- the context object -------------------------------------------------------


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field))
    return obj


class LambdaContext(object):
    """The handler's context, with the fields and methods of AWS's."""

    def __init__(self, invoke_id, client_context, cognito_identity, deadline_ms, invoked_function_arn=None,
                 tenant_id=None):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # A string, as in AWS's context.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        delta = self._deadline_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},function_name={},"
                "memory_limit_in_mb={},function_version={},invoked_function_arn={},client_context={},"
                "identity={}])").format(self.aws_request_id, self.log_group_name, self.log_stream_name,
                                       self.function_name, self.memory_limit_in_mb, self.function_version,
                                       self.invoked_function_arn, self.client_context, self.identity)


# -- JSON as AWS's client writes it -------------------------------------------


class _HasDecimal(Exception):
    pass


class _RawNumber(float):
    """A Decimal on its way through the pure-Python encoder: written as its text."""

    def __new__(cls, text):
        obj = float.__new__(cls, 0.0)
        obj.text = text
        return obj


class _Encoder(json.JSONEncoder):
    """JSON as Lambda's Python runtime writes it: json.dumps's separators, and
    a Decimal (what boto3 returns for a number) written exactly, as its text.
    The C encoder cannot write raw text, so a value holding a Decimal is
    encoded again by the pure-Python one."""

    def __init__(self):
        # AWS's client writes non-ASCII characters as they are on python3.12
        # and escapes them elsewhere.
        super().__init__(ensure_ascii=os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12")

    def default(self, o):
        if isinstance(o, decimal.Decimal):
            raise _HasDecimal()
        return super().default(o)

    def encode(self, o):
        try:
            return super().encode(o)
        except _HasDecimal:
            return "".join(self._decimal_iterencode(o))

    def _decimal_iterencode(self, o):
        def default(v):
            if isinstance(v, decimal.Decimal):
                return _RawNumber("NaN" if v.is_nan() else str(v))
            return json.JSONEncoder.default(self, v)

        def floatstr(v):
            if isinstance(v, _RawNumber):
                return v.text
            if v != v:
                return "NaN"
            if v == float("inf"):
                return "Infinity"
            if v == -float("inf"):
                return "-Infinity"
            return float.__repr__(v)

        encoder = json.encoder.encode_basestring_ascii if self.ensure_ascii else json.encoder.encode_basestring
        it = json.encoder._make_iterencode({}, default, encoder, None, floatstr, self.key_separator,
                                           self.item_separator, False, False, False)
        return it(o, 0)


def to_json(obj):
    return _Encoder().encode(obj)


def unmarshal_request(body, content_type):
    if content_type not in (None, "", "application/json"):
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)), None)


def marshal_response(response):
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)), None)


# -- the Runtime API ----------------------------------------------------------


class RuntimeAPIError(Exception):
    pass


class _Response(object):
    def __init__(self, status, headers):
        self.status, self.headers = status, headers

    def getheader(self, name):
        return self.headers.get(name.lower())


_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote(s):
    return "".join(chr(b) if b in _SAFE else "%%%02X" % b for b in s.encode("utf-8"))


class RuntimeClient(object):
    """A client of the Runtime API over one keep-alive connection.

    It speaks HTTP/1.1 on a socket of its own rather than with http.client,
    whose imports (ssl, the email package) would add some 30 ms to every
    cold start of a function that does not need them, as AWS's client
    keeps them off its path too."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.sock = None
        self.buf = b""

    def _close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError("the Runtime API closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _exchange(self, method, path, body, headers):
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = body or b""
        head = ["%s %s HTTP/1.1" % (method, API_PREFIX + path), "Host: %s:%d" % (self.host, self.port),
                "User-Agent: surge-lambda-python", "Content-Length: %d" % len(body)]
        head += ["%s: %s" % kv for kv in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + body)
        status_line = self._line()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise RuntimeAPIError("the Runtime API answered %r" % status_line[:100])
        resp = _Response(int(parts[1]), {})
        while True:
            line = self._line()
            if not line:
                break
            k, _, v = line.decode("utf-8", "replace").partition(":")
            resp.headers[k.strip().lower()] = v.strip()
        if resp.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():  # trailers
                        pass
                    break
                chunks.append(self._exactly(size))
                self._line()
            data = b"".join(chunks)
        elif "content-length" in resp.headers:
            data = self._exactly(int(resp.headers["content-length"]))
        else:  # to the end of the connection
            try:
                while True:
                    self._fill()
            except ConnectionResetError:
                pass
            data = self.buf
            self._close()
        if resp.headers.get("connection", "").lower() == "close":
            self._close()
        return resp, data

    def _call(self, method, path, body=None, headers=None, want=202):
        for attempt in (0, 1):
            try:
                resp, data = self._exchange(method, path, body, headers)
            except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
                # A keep-alive connection the server closed: once more on a
                # new one.
                self._close()
                if attempt:
                    raise
                continue
            if resp.status != want:
                raise RuntimeAPIError("Request to Lambda Runtime '{}' endpoint failed. Reason: '{}'. Response body: '{}'"
                                      .format(path, resp.status, data[:512]))
            return resp, data

    def wait_next_invocation(self):
        resp, body = self._call("GET", "invocation/next", want=200)
        deadline = resp.getheader("Lambda-Runtime-Deadline-Ms")
        return {
            "invoke_id": resp.getheader("Lambda-Runtime-Aws-Request-Id"),
            "x_amzn_trace_id": resp.getheader("Lambda-Runtime-Trace-Id"),
            "invoked_function_arn": resp.getheader("Lambda-Runtime-Invoked-Function-Arn"),
            "deadline_time_in_ms": int(deadline) if deadline else 0,
            "client_context": resp.getheader("Lambda-Runtime-Client-Context"),
            "cognito_identity": resp.getheader("Lambda-Runtime-Cognito-Identity"),
            "tenant_id": resp.getheader("Lambda-Runtime-Aws-Tenant-Id"),
            "content_type": resp.getheader("Content-Type"),
            "event_body": body,
        }

    def post_invocation_result(self, invoke_id, result, content_type="application/json"):
        self._call("POST", "invocation/{}/response".format(_quote(invoke_id)), body=result,
                   headers={"Content-Type": content_type})

    def post_invocation_error(self, invoke_id, error_json, error_type, xray_fault_json):
        headers = {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": error_type or "Runtime.Unknown"}
        if len(xray_fault_json) < 1 << 20:  # AWS's client drops a cause over 1 MiB
            headers["Lambda-Runtime-Function-XRay-Error-Cause"] = xray_fault_json
        self._call("POST", "invocation/{}/error".format(_quote(invoke_id)),
                   body=error_json.encode("utf-8"), headers=headers)

    def post_init_error(self, error_json, error_type):
        self._call("POST", "init/error", body=error_json.encode("utf-8"),
                   headers={"Content-Type": "application/json",
                            "Lambda-Runtime-Function-Error-Type": error_type or "Runtime.Unknown"})


# -- the handler --------------------------------------------------------------


def get_handler(handler):
    """Resolves "module.function" (the module may be "a.b" or "a/b") as
    Lambda's Python runtime does, raising its FaultExceptions."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(FaultException.BUILT_IN_MODULE_CONFLICT,
                                 "Cannot use built-in module {} as a handler module".format(modname))
        m = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(FaultException.IMPORT_MODULE_ERROR,
                             "Unable to import module '{}': {}".format(modname, str(e)))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(FaultException.USER_CODE_SYNTAX_ERROR,
                             "Syntax error in module '{}': {}".format(modname, str(e)), trace)
    try:
        return getattr(m, fname)
    except AttributeError:
        raise FaultException(FaultException.HANDLER_NOT_FOUND,
                             "Handler '{}' missing on module '{}'".format(fname, modname), None)


def make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """The traceback's frames from the first that is not this client's."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, f in enumerate(frames):
        if os.path.abspath(f[0]) != _THIS_FILE:
            return frames[i:]
    return frames


def build_fault_result(exc_info, msg, invoke_id=None):
    etype, value, tb = exc_info
    frames = _user_frames(tb)
    return make_error(msg if msg else str(value), etype.__name__, traceback.format_list(frames), invoke_id), frames


def make_xray_fault(ex_type, ex_msg, working_dir, frames):
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    return {"working_directory": working_dir, "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
            "paths": sorted({f[0] for f in frames})}


def _indent(line):
    n = len(line) - len(line.lstrip(" "))
    return ERROR_LOG_IDENT * n + line[n:]


def log_error(error):
    """Writes an error as one log line, its lines joined by \\r, as AWS's
    client writes it to standard output; with AWS_LAMBDA_LOG_FORMAT=JSON, as
    a JSON object."""
    if json_logs():
        line = dict({"timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "ERROR"}, **error)
        sys.stdout.write(to_json(line) + "\n")
        return
    desc = "[ERROR]"
    if error.get("errorType"):
        desc += " " + error["errorType"]
    if error.get("errorMessage"):
        if error.get("errorType"):
            desc += ":"
        desc += " " + error["errorMessage"]
    lines = [desc]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
            else:
                lines.extend(_indent(line) for line in element.splitlines())
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR,
                             "Unable to parse {} JSON: {}".format(name, str(e)), None)


def handle_event_request(client, request_handler, inv):
    invoke_id = inv["invoke_id"]
    error = None
    try:
        client_context = None
        if inv["client_context"]:
            client_context = _parse_json_header(inv["client_context"], "Client Context")
        identity = None
        if inv["cognito_identity"]:
            identity = _parse_json_header(inv["cognito_identity"], "Cognito Identity")
        context = LambdaContext(invoke_id, client_context, identity, inv["deadline_time_in_ms"],
                                inv["invoked_function_arn"], inv["tenant_id"])
        event = unmarshal_request(inv["event_body"], inv["content_type"])
        response = request_handler(event, context)
        result, content_type = marshal_response(response)
    except FaultException as e:
        error = make_error(e.msg, e.exception_type, e.trace, invoke_id)
        xray = make_xray_fault("LambdaValidationError", e.msg, os.getcwd(), [])
    except Exception:
        etype, value, tb = sys.exc_info()
        error, frames = build_fault_result((etype, value, tb), None, invoke_id)
        xray = make_xray_fault(etype.__name__, str(value), os.getcwd(), frames)
    if error is not None:
        log_error(error)
        client.post_invocation_error(invoke_id, to_json(error), error["errorType"], to_json(xray))
    else:
        client.post_invocation_result(invoke_id, result, content_type)


# -- logging ------------------------------------------------------------------


class _Unbuffered(object):
    """A stream that flushes every write, so that each line reaches Lambda's
    log (here, the pool's) as it is written, with its invocation."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


_REQUEST_ID = None


class _RequestIDFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID or ""
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        sys.stdout.write(self.format(record))


class _JSONFormatter(logging.Formatter):
    """A log record as one JSON object, as Lambda's Python runtime writes it
    with AWS_LAMBDA_LOG_FORMAT=JSON."""

    def format(self, record):
        out = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
        }
        if record.exc_info and record.exc_info[1] is not None:
            etype, value, tb = record.exc_info
            out["errorType"] = etype.__name__
            out["errorMessage"] = str(value)
            out["stackTrace"] = traceback.format_tb(tb)
        out["requestId"] = getattr(record, "aws_request_id", None) or None
        out["location"] = "%s:%s:%s" % (record.pathname, record.funcName, record.lineno)
        return json.dumps(out, default=str, ensure_ascii=False) + "\n"


def json_logs():
    return (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"


def setup_logging():
    """The root logger's handler, as Lambda's Python runtime installs it:
    "[LEVEL]\\tTIME\\tREQUEST_ID\\tMESSAGE" on standard output, in UTC (or a
    JSON object with AWS_LAMBDA_LOG_FORMAT=JSON), at AWS_LAMBDA_LOG_LEVEL
    when it is set (else Python's default, WARNING)."""
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    if json_logs():
        handler.setFormatter(_JSONFormatter())
    else:
        handler.setFormatter(logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIDFilter())
    root = logging.getLogger()
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)


# -- the SDK's endpoint variables ------------------------------------------------


class _EndpointVariables(object):
    """Teaches an older botocore the endpoint variables that the one in
    Lambda's Python runtimes reads (AWS_ENDPOINT_URL_<SERVICE>, then
    AWS_ENDPOINT_URL; botocore 1.31 and later read them themselves), so
    that a function reaches the endpoints it is given, such as a local
    DynamoDB-API engine's, whichever boto3 this machine has (Debian's is
    1.26). It waits for the function to import botocore.session: a
    function that does not pays nothing for it."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.session":
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def patched(module):
            exec_module(module)
            _teach_endpoints(module)

        spec.loader.exec_module = patched
        return spec


def _endpoint_from_env(service_name):
    var = "AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_").replace(" ", "_")
    return os.environ.get(var) or os.environ.get("AWS_ENDPOINT_URL")


def _teach_endpoints(session_module):
    botocore = sys.modules.get("botocore")
    try:
        version = tuple(int(x) for x in botocore.__version__.split(".")[:2])
    except (AttributeError, ValueError):
        return
    if version >= (1, 31):
        return
    create_client = session_module.Session.create_client

    def create_client_with_endpoint(self, service_name, *args, **kwargs):
        # endpoint_url is create_client's fifth argument after the service.
        if len(args) < 5 and kwargs.get("endpoint_url") is None:
            url = _endpoint_from_env(service_name)
            if url:
                kwargs["endpoint_url"] = url
        return create_client(self, service_name, *args, **kwargs)

    session_module.Session.create_client = create_client_with_endpoint


# -- main ---------------------------------------------------------------------


def main(argv):
    global _REQUEST_ID
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    handler = argv[1] if len(argv) > 1 else os.environ.get("_HANDLER", "")
    api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not api:
        sys.stderr.write("surge_lambda_runtime: AWS_LAMBDA_RUNTIME_API is not set\n")
        return 2
    # The task root first on the path, as on Lambda (where it is /var/task),
    # instead of this file's directory.
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(_THIS_FILE):
        sys.path[0] = task_root
    elif task_root not in sys.path:
        sys.path.insert(0, task_root)
    if any(k.startswith("AWS_ENDPOINT_URL") for k in os.environ):
        sys.meta_path.insert(0, _EndpointVariables())
    client = RuntimeClient(api)
    try:
        setup_logging()
        request_handler = get_handler(handler)
    except Exception as e:
        if isinstance(e, FaultException):
            error = make_error(e.msg, e.exception_type, e.trace)
        else:
            error, _ = build_fault_result(sys.exc_info(), None)
        log_error(error)
        try:
            client.post_init_error(to_json(error), error["errorType"])
        except Exception as post:
            sys.stderr.write("surge_lambda_runtime: report the init error: {}\n".format(post))
        return 1
    while True:
        try:
            inv = client.wait_next_invocation()
        except (OSError, RuntimeAPIError) as e:
            # The Runtime API is gone (the pool stopped): nothing more to do.
            sys.stderr.write("surge_lambda_runtime: next invocation: {}\n".format(e))
            return 1
        _REQUEST_ID = inv["invoke_id"]
        if inv["x_amzn_trace_id"] is not None:
            os.environ["_X_AMZN_TRACE_ID"] = inv["x_amzn_trace_id"]
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            handle_event_request(client, request_handler, inv)
        except (OSError, RuntimeAPIError) as e:
            sys.stderr.write("surge_lambda_runtime: post the answer: {}\n".format(e))
            return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
