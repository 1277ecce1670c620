// An ES module handler with a callback-style sibling.
export const handler = async (event, context) => ({ module: 'esm', requestId: context.awsRequestId });
export function callback(event, context, cb) {
  cb(null, { module: 'esm', style: 'callback' });
}
