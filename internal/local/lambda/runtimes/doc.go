// Package runtimes launches functions of Lambda's managed runtimes in
// surge's local Lambda (package lambda) as Lambda launches them: given a
// runtime identifier, a handler and a code directory, as a SAM template's
// Runtime, Handler and CodeUri give them, Resolve returns the command
// line, working directory and environment of the function's instances,
// which lambda.Config takes unchanged (Launch.Config).
//
// # Runtimes
//
//	provided.al2023, provided.al2   CODE/bootstrap, an executable, as Lambda runs a custom runtime
//	python3.9 ... python3.14        a Python interpreter running the runtime interface client
//	                                embedded here (python/surge_lambda_runtime.py, standard
//	                                library only), or awslambdaric where it is installed and
//	                                Options.PythonClient (or SURGE_PYTHON_CLIENT=awslambdaric)
//	                                asks for it
//	nodejs20.x, nodejs22.x          node running the embedded client
//	                                (node/surge-lambda-runtime.cjs, node's standard library only)
//
// The clients speak the Lambda Runtime API the pool serves, resolve the
// handler as AWS's own clients do (Python: "module.function",
// "package.module.function" or "package/module.function"; Node.js:
// "file.function" from CommonJS .js and .cjs, or ES modules .mjs and .js
// under "type": "module"), and report handler errors and init errors in
// the shapes and with the error types of AWS's Python and Node.js
// runtimes (Python: {"errorMessage", "errorType", "requestId",
// "stackTrace"}, Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.UserCodeSyntaxError; Node.js: {"errorType", "errorMessage",
// "trace"}, Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.MalformedHandlerName, Runtime.UserCodeSyntaxError). The pool
// reports timeouts (Sandbox.Timedout) and crashes (Runtime.ExitError)
// itself, whatever the runtime. Each client writes the function's own
// output (print, logging, console.log) to standard output a line at a
// time, in the formats of AWS's clients, so that the pool gives each line
// to the invocation that wrote it; the START, END and REPORT lines are the
// pool's. The clients are written once, when first needed, to a cache
// directory (Options.CacheDir), in a folder named after their content.
//
// # The environment
//
// Besides what the pool sets for every function (AWS_LAMBDA_FUNCTION_NAME,
// AWS_LAMBDA_RUNTIME_API, AWS_REGION, ...), an instance gets what the
// runtime sets on Lambda: _HANDLER, LAMBDA_TASK_ROOT (the code directory,
// also the working directory), LAMBDA_RUNTIME_DIR (the client's
// directory), AWS_EXECUTION_ENV (AWS_Lambda_python3.12, ...), LANG, TZ,
// PATH with the interpreter's directory first, and PYTHONPATH or
// NODE_PATH as Lambda sets them (the runtime directory, and for Node.js
// the task root). The function's own environment (lambda.Config.Env) may
// change LANG, TZ, PATH, PYTHONPATH and NODE_PATH, but not the variables
// Lambda reserves (_HANDLER, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR,
// AWS_EXECUTION_ENV), as on Lambda. Python instances also get
// PYTHONDONTWRITEBYTECODE=1: Lambda's task root is read-only, so a cold
// start compiles the function's own modules there too, and here the code
// directory stays free of __pycache__ folders.
//
// # Which Python
//
// A Python function runs on Options.Python, else $SURGE_PYTHON, else the
// first of python3.X (the runtime's own version), /usr/bin/python3 and
// python3 on PATH that can import Options.PythonModules (boto3 for the
// examples). The system's interpreter comes before the one first on PATH
// because it is the nearer stand-in for Lambda's: a runtime's Python with
// the AWS SDK the runtime bundles, here Debian's python3-boto3, which
// scripts/setup installs at a pinned version. On a machine with pyenv, the
// python3 first on PATH is pyenv's own build, which does not see Debian's
// packages (and may hold a boto3 of its own, at whatever version); it is
// used where /usr/bin/python3 is missing or cannot import what the
// function needs. The interpreter's own path (sys.executable) is what
// runs, not a shim in front of it, so that a cold start does not pay for
// the shim. Its version need not be the runtime's:
// Launch.InterpreterVersion says which it is.
package runtimes
