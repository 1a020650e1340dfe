import type * as http from 'node:http';
import type * as http2 from 'node:http2';

/** A request of either the HTTP/1.1 or the HTTP/2 server. */
export type HttpRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** A response of either the HTTP/1.1 or the HTTP/2 server. */
export type HttpResponse = http.ServerResponse | http2.Http2ServerResponse;
