// A Node.js function for the tests: it answers by the event's "op".
console.log('init', process.pid);

const ENV = ['_HANDLER', 'AWS_EXECUTION_ENV', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR', 'PYTHONPATH', 'NODE_PATH',
  'LANG', 'TZ', 'PATH', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'FUNCTION_OWN'];

exports.handler = async (event, context) => {
  switch (event.op) {
    case 'fail':
      throw new Error('the test asked to fail');
    case 'sleep':
      await new Promise((resolve) => setTimeout(resolve, event.ms));
      break;
    case 'crash':
      process.exit(3);
  }
  console.log('echo', event.n);
  return {
    pid: process.pid,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    memory: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(),
    arn: context.invokedFunctionArn,
    env: Object.fromEntries(ENV.map((k) => [k, process.env[k] ?? null])),
    cwd: process.cwd(),
    runtime: process.version,
  };
};
