/**
 * surge's runtime interface client for Lambda's nodejs20.x and later runtimes.
 *
 * It runs a Node.js handler (the function's _HANDLER, "file.function", or
 * "dir/file.function", resolved from LAMBDA_TASK_ROOT as CommonJS (.js,
 * .cjs) or an ES module (.mjs, or .js under "type": "module")) the way
 * Lambda's Node.js runtime does, speaking the Lambda Runtime API
 * (2018-06-01) at AWS_LAMBDA_RUNTIME_API: async handlers, handlers that
 * return a promise, and callback handlers, with
 * context.callbackWaitsForEmptyEventLoop; the context object; errors
 * posted as {"errorType", "errorMessage", "trace"}; init errors named as
 * AWS's client names them (Runtime.ImportModuleError,
 * Runtime.HandlerNotFound, Runtime.MalformedHandlerName,
 * Runtime.UserCodeSyntaxError); console output written line by line as
 * "TIME\tREQUEST_ID\tLEVEL\tMESSAGE".
 *
 * It uses node's standard library only (node:http); run it as
 * `node surge-lambda-runtime.cjs [handler]`. Response streaming
 * (awslambda.streamifyResponse) is not supported.
 */

'use strict';

const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const url = require('node:url');
const util = require('node:util');

const API_PREFIX = '/2018-06-01/runtime/';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';

// -- errors --------------------------------------------------------------------

function isErrorLike(obj) {
  return (
    obj &&
    typeof obj.name === 'string' &&
    typeof obj.message === 'string' &&
    typeof obj.stack === 'string' &&
    obj.name &&
    obj.message &&
    obj.stack
  );
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

/** The error object Lambda returns for err: {errorType, errorMessage, trace}. */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [] };
  } catch (_err) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
    };
  }
}

function withEnumerableProperties(error) {
  if (!(error instanceof Error)) {
    return error;
  }
  const ret = Object.assign({ errorType: error.name, errorMessage: error.message, code: error.code }, error);
  if (typeof error.stack === 'string') {
    ret.stack = error.stack.split('\n');
  }
  return ret;
}

/** An error as the text log shows it: a tab, then its JSON. */
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_err) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

const errors = {};
for (const cls of [
  class ImportModuleError extends Error {},
  class HandlerNotFound extends Error {},
  class MalformedHandlerName extends Error {},
  class UserCodeSyntaxError extends Error {},
  class UnhandledPromiseRejection extends Error {
    constructor(reason, promise) {
      super(reason);
      this.reason = reason;
      this.promise = promise;
    }
  },
  class NodeJsExit extends Error {
    constructor() {
      super(
        'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a ' +
          'Promise that was never settled. For more information, see ' +
          'https://nodejs.org/docs/latest/api/process.html#exit-codes',
      );
    }
  },
]) {
  cls.prototype.name = `Runtime.${cls.name}`;
  errors[cls.name] = cls;
}

// -- logging -------------------------------------------------------------------

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const structuredConsole = {};

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

function jsonErrorReplacer(_key, value) {
  if (value instanceof Error) {
    return Object.assign(
      {
        errorType: value?.constructor?.name ?? 'UnknownError',
        errorMessage: value.message,
        stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
      },
      value,
    );
  }
  return value;
}

function formatJSON(level, params) {
  const result = { timestamp: new Date().toISOString(), level: level.name, requestId: globalThis[REQUEST_ID] };
  if (params.length === 1) {
    result.message = params[0];
    try {
      return JSON.stringify(result, jsonErrorReplacer);
    } catch (_) {
      result.message = util.format(result.message);
      return JSON.stringify(result);
    }
  }
  result.message = util.format(...params);
  for (const p of params) {
    if (p instanceof Error) {
      result.errorType = p?.constructor?.name ?? 'UnknownError';
      result.errorMessage = p.message;
      result.stackTrace = typeof p.stack === 'string' ? p.stack.split('\n') : [];
      break;
    }
  }
  return JSON.stringify(result);
}

/**
 * Replaces console's methods, as Lambda's runtime does: each call is one
 * line on standard output (its newlines turned into \r, so that a
 * multi-line message stays one log event), "TIME\tREQUEST_ID\tLEVEL\tMESSAGE",
 * or a JSON object with AWS_LAMBDA_LOG_FORMAT=JSON; levels under
 * AWS_LAMBDA_LOG_LEVEL are dropped.
 */
function patchConsole() {
  const json = (process.env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
  const write = (level, params) => {
    const line = json
      ? formatJSON(level, params)
      : `${new Date().toISOString()}\t${globalThis[REQUEST_ID]}\t${level.name}\t${util.format(...params)}`;
    process.stdout.write(line.replace(/\n/g, '\r') + '\n');
  };
  const min = LEVELS[(process.env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] ?? LEVELS.TRACE;
  const at = (level) => (level.priority >= min.priority ? (...params) => write(level, params) : () => {});
  console.trace = at(LEVELS.TRACE);
  console.debug = at(LEVELS.DEBUG);
  console.info = at(LEVELS.INFO);
  console.log = console.info;
  console.warn = at(LEVELS.WARN);
  console.error = at(LEVELS.ERROR);
  console.fatal = (...params) => write(LEVELS.FATAL, params);
  structuredConsole.logError = json
    ? (_msg, err) => console.error(intoError(err))
    : (msg, err) => console.error(msg, toFormatted(intoError(err)));
}

// -- the Runtime API -----------------------------------------------------------

function serialize(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch (_err) {
    throw new Error('Unable to stringify response body');
  }
}

function apiGone(err) {
  process.stderr.write(`surge-lambda-runtime: the Runtime API does not answer: ${err}\n`);
  process.exit(1);
}

/** A client of the Runtime API over one keep-alive connection. */
class RuntimeClient {
  constructor(address) {
    const i = address.lastIndexOf(':');
    this.hostname = address.slice(0, i).replace(/^\[|\]$/g, '');
    this.port = parseInt(address.slice(i + 1), 10);
    // A free keep-alive socket is unreferenced, so that it does not keep
    // the event loop from emptying (callbackWaitsForEmptyEventLoop).
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  request(method, p, body, headers) {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { hostname: this.hostname, port: this.port, path: API_PREFIX + p, method, agent: this.agent, headers },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  async nextInvocation() {
    const res = await this.request('GET', 'invocation/next');
    if (res.status !== 200) {
      throw new Error(`GET /runtime/invocation/next answered ${res.status}: ${res.body}`);
    }
    return { bodyJson: res.body.toString('utf8'), headers: res.headers };
  }

  post(p, bodyString, extra, callback) {
    const headers = Object.assign(
      { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(bodyString) },
      extra,
    );
    this.request('POST', p, bodyString, headers).then((res) => {
      if (res.status !== 202) {
        process.stderr.write(`surge-lambda-runtime: POST ${p} answered ${res.status}: ${res.body}\n`);
      }
      callback();
    }, apiGone);
  }

  postInvocationResponse(response, id, callback) {
    this.post(`invocation/${encodeURIComponent(id)}/response`, serialize(response), {}, callback);
  }

  postInvocationError(error, id, callback) {
    const response = toRapidResponse(error);
    this.post(
      `invocation/${encodeURIComponent(id)}/error`,
      serialize(response),
      { [ERROR_TYPE_HEADER]: String(response.errorType) },
      callback,
    );
  }

  postInitError(error, callback) {
    const response = toRapidResponse(error);
    this.post('init/error', serialize(response), { [ERROR_TYPE_HEADER]: String(response.errorType) }, callback);
  }
}

// -- the handler ---------------------------------------------------------------

function tryRequireFile(file, ext) {
  const p = file + (ext || '');
  return fs.existsSync(p) ? require(p) : undefined;
}

async function tryImport(file, ext) {
  const p = file + (ext || '');
  return fs.existsSync(p) ? await import(url.pathToFileURL(p).href) : undefined;
}

/** Whether the nearest package.json above folder says "type": "module". */
function typeModule(folder) {
  if (folder.endsWith('/node_modules')) {
    return false;
  }
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  const parent = path.resolve(folder, '..');
  return parent === folder ? false : typeModule(parent);
}

/**
 * Loads the handler's module as Lambda's Node.js runtime does: the file
 * without extension, then .js as CommonJS (unless "type": "module"), then
 * .js as an ES module (with "type": "module"), .mjs, .cjs, and last a
 * package that node would resolve from the task root.
 */
async function loadModule(appRoot, moduleRoot, module) {
  const file = path.resolve(appRoot, moduleRoot, module);
  try {
    const bare = tryRequireFile(file);
    if (bare) {
      return bare;
    }
    const esm = typeModule(path.dirname(file));
    if (!esm) {
      const cjs = tryRequireFile(file, '.js');
      if (cjs) {
        return cjs;
      }
    }
    const loaded =
      (esm && (await tryImport(file, '.js'))) || (await tryImport(file, '.mjs')) || tryRequireFile(file, '.cjs');
    if (loaded) {
      return loaded;
    }
    return require(require.resolve(module, { paths: [appRoot, moduleRoot] }));
  } catch (e) {
    if (e instanceof SyntaxError) {
      throw new errors.UserCodeSyntaxError(e);
    }
    if (e && e.code === 'MODULE_NOT_FOUND') {
      throw new errors.ImportModuleError(e);
    }
    throw e;
  }
}

function findIn(handlerPath, obj) {
  return handlerPath.split('.').reduce((nested, key) => (nested ? nested[key] : undefined), obj);
}

/** Resolves fullHandler ("dir/file.a.b") from appRoot to a function. */
async function loadHandler(appRoot, fullHandler) {
  if (fullHandler.includes('..')) {
    throw new errors.MalformedHandlerName(
      `'${fullHandler}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const base = path.basename(fullHandler);
  const moduleRoot = fullHandler.substring(0, fullHandler.indexOf(base));
  const match = base.match(/^([^.]*)\.(.*)$/);
  if (!match) {
    throw new errors.MalformedHandlerName('Bad handler');
  }
  const [, module, handlerPath] = match;
  const app = await loadModule(appRoot, moduleRoot, module);
  let fn = findIn(handlerPath, app);
  if (!fn && app && typeof app === 'object' && 'default' in app) {
    fn = findIn(handlerPath, app.default);
  }
  if (!fn) {
    throw new errors.HandlerNotFound(`${fullHandler} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new errors.HandlerNotFound(`${fullHandler} is not a function`);
  }
  return fn;
}

// -- invocations ---------------------------------------------------------------

/** What runs when the event loop empties: the one 'beforeExit' listener. */
const beforeExit = {
  fn: () => {},
  invoke: () => beforeExit.fn(),
  set(fn) {
    this.fn = fn;
  },
  reset() {
    this.fn = () => {};
  },
};

/**
 * The callback and the context's succeed/fail/done for one invocation.
 * With callbackWaitsForEmptyEventLoop (the default), a callback's result is
 * posted when the event loop has nothing else left to do, as on Lambda.
 */
function callbackContext(client, id, scheduleNext) {
  const postError = (err, next) => {
    structuredConsole.logError('Invoke Error', err);
    client.postInvocationError(err, id, next);
  };
  let completed = false;
  const complete = (result, next) => {
    if (completed) {
      console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
      return;
    }
    completed = true;
    client.postInvocationResponse(result, id, next);
  };
  let waitForEmptyEventLoop = true;
  const callback = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      beforeExit.set(() => setImmediate(() => complete(result, scheduleNext)));
    }
  };
  const done = (err, result) => {
    beforeExit.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else {
      complete(result, scheduleNext);
    }
  };
  const ctx = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => (err === undefined || err === null ? done('handled') : done(err, null)),
    done,
  };
  // Only the first of the callback, succeed, fail and done counts.
  let finished = false;
  const once =
    (fn) =>
    (...args) => {
      if (!finished) {
        fn(...args);
        finished = true;
      }
    };
  ctx.succeed = once(ctx.succeed);
  ctx.fail = once(ctx.fail);
  ctx.done = once(ctx.done);
  return [once(callback), ctx, () => (completed = true)];
}

function parseJSONHeader(value, name) {
  if (value === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

/** Adds the invocation's and the function's data to the context. */
function attachContext(ctx, headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  if (headers['lambda-runtime-trace-id']) {
    process.env._X_AMZN_TRACE_ID = headers['lambda-runtime-trace-id'];
  } else {
    delete process.env._X_AMZN_TRACE_ID;
  }
  return Object.assign(ctx, {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJSONHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
    identity: parseJSONHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    tenantId: headers['lambda-runtime-aws-tenant-id'],
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
}

function isPromise(obj) {
  return obj && typeof obj.then === 'function';
}

class Runtime {
  constructor(client, handler, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.isAsync = handler.constructor && handler.constructor.name === 'AsyncFunction';
    this.errorCallbacks = errorCallbacks;
  }

  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(
        () => {},
        (err) => {
          console.log(`Unexpected Top Level Error: ${err.toString()}`);
          this.errorCallbacks.uncaughtException(err);
        },
      );
    });
  }

  async handleOnce() {
    let next;
    try {
      next = await this.client.nextInvocation();
    } catch (err) {
      apiGone(err);
      return;
    }
    const { bodyJson, headers } = next;
    const id = headers['lambda-runtime-aws-request-id'];
    globalThis[REQUEST_ID] = id;
    const [callback, ctx, markCompleted] = callbackContext(this.client, id, () => this.scheduleIteration());
    try {
      this.errorCallbacks.uncaughtException = (error) =>
        this.client.postInvocationError(error, id, () => process.exit(129));
      this.errorCallbacks.unhandledRejection = (error) =>
        this.client.postInvocationError(error, id, () => process.exit(128));
      // When the loop empties before the handler answered: a sync handler
      // that never called back answers null; an async one failed to settle.
      beforeExit.set(() => {
        markCompleted();
        if (this.isAsync) {
          const err = new errors.NodeJsExit();
          structuredConsole.logError('Invoke Error', err);
          this.client.postInvocationError(err, id, () => this.scheduleIteration());
        } else {
          this.client.postInvocationResponse(null, id, () => this.scheduleIteration());
        }
      });
      const result = this.handler(JSON.parse(bodyJson), attachContext(ctx, headers), callback);
      if (isPromise(result)) {
        result.then(ctx.succeed, ctx.fail).catch(ctx.fail);
      }
    } catch (err) {
      callback(err);
    }
  }
}

async function main() {
  patchConsole();
  const api = process.env.AWS_LAMBDA_RUNTIME_API;
  if (!api) {
    process.stderr.write('surge-lambda-runtime: AWS_LAMBDA_RUNTIME_API is not set\n');
    process.exit(2);
  }
  const client = new RuntimeClient(api);
  const errorCallbacks = {
    uncaughtException: (error) => client.postInitError(error, () => process.exit(129)),
    unhandledRejection: (error) => client.postInitError(error, () => process.exit(128)),
  };
  process.on('uncaughtException', (error) => {
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new errors.UnhandledPromiseRejection(reason, promise);
    structuredConsole.logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });
  beforeExit.reset();
  process.on('beforeExit', beforeExit.invoke);
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handler = await loadHandler(appRoot, process.argv[2] || process.env._HANDLER || '');
  new Runtime(client, handler, errorCallbacks).scheduleIteration();
}

if (require.main === module) {
  // An init failure rejects main: reported as Lambda's runtime reports an
  // uncaught exception at init.
  main().catch((error) => process.emit('uncaughtException', error));
}

module.exports = { toRapidResponse, loadHandler, errors };
