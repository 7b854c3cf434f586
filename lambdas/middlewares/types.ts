import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { StreamingResponse } from '../gateway/forward.ts';

export type ProxyEvent = APIGatewayProxyEventV2;
export type ProxyRequest = Request<ProxyEvent, StreamingResponse, Error, Context>;
export type ProxyMiddleware = MiddlewareObj<ProxyEvent, StreamingResponse, Error, Context>;
