// Tests of surge-lambda-runtime.cjs: the client runs as a real node process
// against a fake Runtime API served over loopback by this test, and each
// test checks what the client asked for and posted, and what it wrote.
//
// Run with: node --test internal/local/lambda/runtimes/node/

'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { test } = require('node:test');

const CLIENT = path.join(__dirname, 'surge-lambda-runtime.cjs');
const WAIT = 20000; // ms: a bound on every wait, never a pause

/** A queue whose shift() waits (at most WAIT) for an element. */
class Queue {
  constructor() {
    this.items = [];
    this.waiters = [];
  }
  push(x) {
    const w = this.waiters.shift();
    if (w) w(x);
    else this.items.push(x);
  }
  shift() {
    if (this.items.length) return Promise.resolve(this.items.shift());
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('nothing arrived in time')), WAIT);
      t.unref(); // a wait that nobody needs any more does not hold the test run
      this.waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
}

/** The Runtime API's paths: events given with add() go to /next in order,
 * and every POST is recorded for posted(). */
async function fakeAPI(t) {
  const events = new Queue();
  const posts = new Queue();
  let nexts = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      if (req.method === 'GET' && req.url === '/2018-06-01/runtime/invocation/next') {
        nexts++;
        let ev;
        try {
          ev = await events.shift();
        } catch {
          res.destroy();
          return;
        }
        if (ev === null) {
          res.destroy();
          return;
        }
        const body = Buffer.from(typeof ev.event === 'string' ? ev.event : JSON.stringify(ev.event));
        res.writeHead(200, {
          'Lambda-Runtime-Aws-Request-Id': ev.id,
          'Lambda-Runtime-Deadline-Ms': String(Date.now() + 3000),
          'Lambda-Runtime-Invoked-Function-Arn': 'arn:aws:lambda:us-east-1:000000000000:function:fn',
          'Lambda-Runtime-Trace-Id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0',
          'Content-Type': 'application/json',
          'Content-Length': body.length,
          ...(ev.headers || {}),
        });
        res.end(body);
        return;
      }
      posts.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end('{"status":"OK"}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    address: `127.0.0.1:${server.address().port}`,
    add: (id, event, headers) => events.push({ id, event, headers }),
    stop: () => events.push(null),
    posted: () => posts.shift(),
    nexts: () => nexts,
  };
}

/** A task root holding files {name: source}. */
function taskRoot(t, files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'surge-node-ric-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [name, src] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), src);
  }
  return root;
}

/** Starts the client for handler in root; out() is all it wrote, exited()
 * its exit code. */
function start(t, api, root, handler, env = {}) {
  const child = spawn(process.execPath, [CLIENT], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      AWS_LAMBDA_RUNTIME_API: api.address,
      _HANDLER: handler,
      LAMBDA_TASK_ROOT: root,
      AWS_LAMBDA_FUNCTION_NAME: 'fn',
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
      AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/fn',
      AWS_LAMBDA_LOG_STREAM_NAME: '2026/03/02/[$LATEST]abc',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => child.kill('SIGKILL'));
  return { out: () => out, exited, child };
}

const CONTEXT_HANDLER = `
  async (event, context) => ({
    event,
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    clientContext: context.clientContext,
    trace: process.env._X_AMZN_TRACE_ID,
  })`;

test('an async CommonJS handler answers, with the context, and stays warm', async (t) => {
  const api = await fakeAPI(t);
  const root = taskRoot(t, { 'index.js': `exports.handler = ${CONTEXT_HANDLER};` });
  start(t, api, root, 'index.handler');
  api.add('req-1', { a: 1 }, { 'Lambda-Runtime-Client-Context': '{"custom":{"k":"v"}}' });
  const p = await api.posted();
  assert.equal(p.path, '/2018-06-01/runtime/invocation/req-1/response');
  const got = JSON.parse(p.body);
  assert.deepEqual(got.event, { a: 1 });
  assert.equal(got.awsRequestId, 'req-1');
  assert.equal(got.functionName, 'fn');
  assert.equal(got.functionVersion, '$LATEST');
  assert.equal(got.invokedFunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:fn');
  assert.equal(got.memoryLimitInMB, '512');
  assert.equal(got.logGroupName, '/aws/lambda/fn');
  assert.equal(got.logStreamName, '2026/03/02/[$LATEST]abc');
  assert.ok(got.remaining > 0 && got.remaining <= 3000, String(got.remaining));
  assert.equal(got.waits, true);
  assert.deepEqual(got.clientContext, { custom: { k: 'v' } });
  assert.equal(got.trace, 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0');
  api.add('req-2', [2]);
  const p2 = await api.posted();
  assert.equal(p2.path, '/2018-06-01/runtime/invocation/req-2/response');
  assert.deepEqual(JSON.parse(p2.body).event, [2]);
});

test('module kinds: .mjs, .js under "type": "module", .cjs, a subdirectory and a nested name', async (t) => {
  const root = taskRoot(t, {
    'esm.mjs': 'export const handler = async () => ({ kind: "mjs", meta: typeof import.meta.url });',
    'mod/package.json': '{"type":"module"}',
    'mod/app.js': 'export async function handler() { return { kind: "type-module" }; }',
    'lib/util.cjs': 'module.exports.handler = async () => ({ kind: "cjs" });',
    'nested.js': 'module.exports.api = { v1: { handler: async () => ({ kind: "nested" }) } };',
    'def.mjs': 'export default { handler: async () => ({ kind: "default" }) };',
  });
  const cases = [
    ['esm.handler', { kind: 'mjs', meta: 'string' }],
    ['mod/app.handler', { kind: 'type-module' }],
    ['lib/util.handler', { kind: 'cjs' }],
    ['nested.api.v1.handler', { kind: 'nested' }],
    ['def.handler', { kind: 'default' }],
  ];
  for (const [handler, want] of cases) {
    await t.test(handler, async (t) => {
      const api = await fakeAPI(t);
      start(t, api, root, handler);
      api.add('r', {});
      const p = await api.posted();
      assert.equal(p.path, '/2018-06-01/runtime/invocation/r/response', p.body);
      assert.deepEqual(JSON.parse(p.body), want);
    });
  }
});

test('callback handlers honour callbackWaitsForEmptyEventLoop', async (t) => {
  const root = taskRoot(t, {
    'cb.js': `
      exports.handler = (event, context, callback) => {
        context.callbackWaitsForEmptyEventLoop = event.wait;
        const out = { fired: false };
        setTimeout(() => { out.fired = true; }, 100);
        callback(null, out);
      };
      exports.sync = () => { setTimeout(() => {}, 10); return "ignored"; };
      exports.never = async () => new Promise(() => {});
      exports.succeed = (event, context) => { context.succeed({ via: "succeed" }); };`,
  });
  const api = await fakeAPI(t);
  start(t, api, root, 'cb.handler');
  // Waiting for the empty loop: the timer ran before the answer was sent.
  api.add('w1', { wait: true });
  assert.deepEqual(JSON.parse((await api.posted()).body), { fired: true });
  // Not waiting: the answer left at once, before the timer.
  api.add('w2', { wait: false });
  assert.deepEqual(JSON.parse((await api.posted()).body), { fired: false });

  for (const [handler, path, body] of [
    ['cb.sync', 'response', 'null'],
    ['cb.succeed', 'response', '{"via":"succeed"}'],
  ]) {
    const api = await fakeAPI(t);
    start(t, api, root, handler);
    api.add('s', {});
    const p = await api.posted();
    assert.equal(p.path, `/2018-06-01/runtime/invocation/s/${path}`);
    assert.equal(p.body, body);
  }
  const api2 = await fakeAPI(t);
  start(t, api2, root, 'cb.never');
  api2.add('n', {});
  const p = await api2.posted();
  assert.equal(p.path, '/2018-06-01/runtime/invocation/n/error');
  assert.equal(JSON.parse(p.body).errorType, 'Runtime.NodeJsExit');
});

test('handler errors are posted as the Node.js runtime shapes them', async (t) => {
  const root = taskRoot(t, {
    'err.js': `
      exports.thrown = async () => { throw new TypeError("bad " + "thing"); };
      exports.callback = (e, c, cb) => cb(new RangeError("out of range"));
      exports.text = (e, c, cb) => cb("plain text");
      exports.sync = () => { throw new Error("sync"); };`,
  });
  const cases = [
    ['err.thrown', 'TypeError', 'bad thing'],
    ['err.callback', 'RangeError', 'out of range'],
    ['err.text', 'string', 'plain text'],
    ['err.sync', 'Error', 'sync'],
  ];
  for (const [handler, type, message] of cases) {
    await t.test(handler, async (t) => {
      const api = await fakeAPI(t);
      const proc = start(t, api, root, handler);
      api.add('e', {});
      const p = await api.posted();
      assert.equal(p.path, '/2018-06-01/runtime/invocation/e/error');
      assert.equal(p.headers['lambda-runtime-function-error-type'], type);
      const err = JSON.parse(p.body);
      assert.deepEqual(Object.keys(err), ['errorType', 'errorMessage', 'trace']);
      assert.equal(err.errorType, type);
      assert.equal(err.errorMessage, message);
      if (type !== 'string') {
        assert.equal(err.trace[0], `${type}: ${message}`);
        assert.match(err.trace[1], /err\.js:\d+:\d+/);
      }
      // The process goes on after a handler error.
      api.add('e2', {});
      assert.equal((await api.posted()).path, '/2018-06-01/runtime/invocation/e2/error');
      // The log shows the error as an Error (a string is wrapped in one).
      const logged = type === 'string' ? 'Error' : type;
      assert.match(proc.out(), new RegExp(`\\te\\tERROR\\tInvoke Error \\t\\{"errorType":"${logged}"`));
    });
  }
});

test('init errors are named as the Node.js runtime names them', async (t) => {
  const root = taskRoot(t, {
    'app.js': 'exports.handler = async () => 1; exports.value = 7;',
    'broken.js': 'exports.handler = async () => {;',
    'broken.mjs': 'export const handler = async () => {;',
    'needs.js': 'require("left-pad-that-is-not-here"); exports.handler = async () => 1;',
    'throws.js': 'throw new Error("no config");',
  });
  const cases = [
    ['nope.handler', 'Runtime.ImportModuleError', "Error: Cannot find module 'nope'"],
    ['needs.handler', 'Runtime.ImportModuleError', "Error: Cannot find module 'left-pad-that-is-not-here'"],
    ['app.missing', 'Runtime.HandlerNotFound', 'app.missing is undefined or not exported'],
    ['app.value', 'Runtime.HandlerNotFound', 'app.value is not a function'],
    ['app', 'Runtime.MalformedHandlerName', 'Bad handler'],
    ['../app.handler', 'Runtime.MalformedHandlerName', "'../app.handler' is not a valid handler name."],
    ['broken.handler', 'Runtime.UserCodeSyntaxError', 'SyntaxError: '],
    ['throws.handler', 'Error', 'no config'],
  ];
  for (const [handler, type, message] of cases) {
    await t.test(handler, async (t) => {
      const api = await fakeAPI(t);
      const proc = start(t, api, root, handler);
      const p = await api.posted();
      assert.equal(p.path, '/2018-06-01/runtime/init/error');
      assert.equal(p.headers['lambda-runtime-function-error-type'], type);
      const err = JSON.parse(p.body);
      assert.equal(err.errorType, type);
      assert.ok(err.errorMessage.startsWith(message), err.errorMessage);
      assert.ok(Array.isArray(err.trace) && err.trace[0].startsWith(type), err.trace);
      assert.equal(await proc.exited, 129);
      assert.equal(api.nexts(), 0, 'asked for an event after a failed init');
      assert.match(proc.out(), /\tundefined\tERROR\tUncaught Exception \t\{"errorType":/);
    });
  }
  await t.test('an ES module with a syntax error', async (t) => {
    fs.rmSync(path.join(root, 'broken.js'));
    const api = await fakeAPI(t);
    start(t, api, root, 'broken.handler');
    assert.equal(JSON.parse((await api.posted()).body).errorType, 'Runtime.UserCodeSyntaxError');
  });
});

test('console output is one line per call, with the request id', async (t) => {
  const api = await fakeAPI(t);
  const root = taskRoot(t, {
    'log.js': `
      console.log("at init");
      exports.handler = async (event) => {
        console.log("logged", event.n, { k: 1 });
        console.warn("two\\nlines");
        console.debug("dropped at INFO");
        process.stdout.write("raw write\\n");
        return "ok";
      };`,
  });
  const proc = start(t, api, root, 'log.handler', { AWS_LAMBDA_LOG_LEVEL: 'INFO' });
  api.add('req-log', { n: 7 });
  await api.posted();
  api.stop();
  await proc.exited;
  const lines = proc.out().split('\n');
  const line = (re) => lines.find((l) => re.test(l));
  assert.match(line(/at init/), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\tundefined\tINFO\tat init$/);
  assert.match(line(/logged/), /\treq-log\tINFO\tlogged 7 \{ k: 1 \}$/);
  assert.match(line(/two/), /\treq-log\tWARN\ttwo\rlines$/);
  assert.ok(lines.includes('raw write'));
  assert.ok(!proc.out().includes('dropped at INFO'));
});

test('an uncaught exception fails its invocation and ends the process', async (t) => {
  const api = await fakeAPI(t);
  const root = taskRoot(t, {
    'boom.js': 'exports.handler = async () => { setImmediate(() => { throw new Error("later"); }); return new Promise(() => {}); };',
  });
  const proc = start(t, api, root, 'boom.handler');
  api.add('u', {});
  const p = await api.posted();
  assert.equal(p.path, '/2018-06-01/runtime/invocation/u/error');
  assert.equal(JSON.parse(p.body).errorMessage, 'later');
  assert.equal(await proc.exited, 129);
});
