// Package awsevent serves API Gateway and Lambda function URL events with an
// http.Handler, and turns HTTP requests back into API Gateway events. It
// is how the items service, an ordinary http.Handler, runs on AWS Lambda
// (cmd/bootstrap), and how a local gateway in front of local function
// processes speaks to them in the event shapes AWS uses.
//
// Events in, HTTP out:
//
//	REST API (v1 proxy)   events.APIGatewayProxyRequest   -> RequestFromV1
//	HTTP API (payload 2)  events.APIGatewayV2HTTPRequest  -> RequestFromV2
//	function URL          events.LambdaFunctionURLRequest -> RequestFromFunctionURL
//
// and a ResponseWriter that buffers the handler's answer and renders it as
// the matching response event (V1, V2, FunctionURL). Adapter joins the
// two for each kind, and its Invoke answers a raw Lambda payload of any
// kind (it is an aws-lambda-go lambda.Handler), leaving other payloads,
// such as direct invocations, to a function of the caller's. The reverse
// direction, for a gateway in front of
// functions, is NewV1Event (an *http.Request into a REST v1 proxy event)
// and WriteV1Response (a v1 response event onto an http.ResponseWriter).
//
// # Why aws-lambda-go's event types, not aws-lambda-go-api-proxy
//
// awslabs/aws-lambda-go-api-proxy does the events-to-net/http half of this
// on top of the same event types, but it is the less clean fit here: it
// passes the event's context to the handler by serializing it into request
// headers (X-GoLambdaProxy-*) and parsing it back, where a context value is
// cheaper and cannot be confused with what a client sent; it has no hook
// to take the tenant from the authorizer and no reverse direction, which a
// local gateway needs; it decides base64 bodies by UTF-8 validity alone,
// where API Gateway decides by content type; and it is one more module,
// with an adapter per web framework, for some 400 lines that this package
// keeps under its own tests, fixtures and benchmarks. The event types
// themselves are aws-lambda-go's, which cmd/bootstrap links anyway.
//
// # What the conversions do
//
// Requests: the method, the path and the query (every value of a
// multi-value parameter), the headers (every value of a multi-value
// header; v2 cookies become a Cookie header), the body (base64-decoded
// when the event says so), the path parameters (as r.PathValue), the
// source IP as RemoteAddr ("IP:0": API Gateway does not pass the client's
// port), and an Info in the context with the event's kind, request id and
// stage. The tenant comes only from what API Gateway itself vouches for:
// requestContext.authorizer.tenant (v1) or authorizer.lambda.tenant (v2),
// set by a Lambda authorizer, or with WithAPIKeyTenant the API key id API
// Gateway validated; it is put in the context with items.WithTenant, and
// no client header ever sets it. Without one, the request is the default
// tenant's, as every request is when no authentication is configured.
//
// Responses: the status (200 if the handler wrote none), the headers (v1:
// one-value headers in headers, several values in multiValueHeaders; v2
// and function URLs: values joined with commas, Set-Cookie in cookies),
// and the body: as text when its Content-Type is textual and it is valid
// UTF-8, else base64 with isBase64Encoded, which is how API Gateway tells
// binary from text. A missing Content-Type is sniffed as net/http does.
package awsevent
