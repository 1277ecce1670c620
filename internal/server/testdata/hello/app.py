"""A function of the python3.x runtime for the server's tests: it answers
a REST API event with what it saw, and prints a line."""

import json
import os


def handler(event, context):
    print("hello from", context.function_name)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({
            "path": event.get("path"),
            "resource": event.get("resource"),
            "greeting": os.environ.get("GREETING"),
            "memory": context.memory_limit_in_mb,
        }),
    }
