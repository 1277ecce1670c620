"""A Python function for the tests: it answers by the event's "op"."""

import logging
import os
import sys
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)
print("init", os.getpid())

ENV = ["_HANDLER", "AWS_EXECUTION_ENV", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "PYTHONPATH", "NODE_PATH", "LANG",
       "TZ", "PATH", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "FUNCTION_OWN"]


def handler(event, context):
    op = event.get("op")
    if op == "fail":
        raise ValueError("the test asked to fail")
    if op == "sleep":
        time.sleep(event["ms"] / 1000)
    if op == "crash":
        os._exit(3)
    print("echo", event.get("n"))
    logger.info("info line %s", event.get("n"))
    return {
        "pid": os.getpid(),
        "requestId": context.aws_request_id,
        "functionName": context.function_name,
        "memory": context.memory_limit_in_mb,
        "remaining": context.get_remaining_time_in_millis(),
        "arn": context.invoked_function_arn,
        "env": {k: os.environ.get(k) for k in ENV},
        "cwd": os.getcwd(),
        "runtime": sys.version,
    }
