import type { Logger } from '@aws-lambda-powertools/logger';
import { ConfigurationError, renderError, toGatewayError, UpstreamError } from '../errors.ts';
import { peekState } from '../gateway/state.ts';
import type { Reporter } from '../reports/reporter.ts';
import { protocolOf } from './request-context.ts';
import type { ProxyMiddleware, ProxyRequest } from './types.ts';

export interface ErrorResponderOptions {
  logger: Logger;
  reporter: Reporter;
}

/**
 * Renders every error in the client's protocol envelope (DESIGN §5). `use` it first so its
 * `onError` runs last and sees everything. Configuration errors are reported to the operator;
 * unknown errors answer a generic message and are logged with their cause, never sent.
 */
export const errorResponder = ({ logger, reporter }: ErrorResponderOptions): ProxyMiddleware => {
  const errorResponderOnError = (request: ProxyRequest) => {
    const { context } = request;
    // No state: the path matched no endpoint (request-context's 404), so only the headers tell the envelope.
    const state = peekState(context);
    if (state) state.failure = request.error;
    const requestId = state?.requestId ?? context.awsRequestId;
    const route = state?.routing?.route;
    const error = toGatewayError(request.error);
    const fields = {
      requestId,
      status: error.status,
      model: route?.model,
      accountId: state?.auth?.key.accountId,
      keyId: state?.auth?.key.keyId,
    };
    if (error instanceof ConfigurationError) {
      reporter.report({
        kind: error.kind,
        model: error.model,
        ...(route ? { provider: route.provider } : {}),
        message: error.message,
        hint: error.hint,
        requestId,
        functionName: context.functionName,
        time: new Date().toISOString(),
      });
      logger.error('configuration error', { ...fields, kind: error.kind, hint: error.hint });
    } else if (error instanceof UpstreamError) {
      logger.warn('upstream error passed through', fields);
    } else if (error.status >= 500) {
      logger.error('request failed', { ...fields, type: error.type, error: error.cause ?? error });
    } else {
      logger.info('request refused', { ...fields, type: error.type, reason: error.message });
    }
    const rendered = renderError(error, state?.protocol ?? protocolOf(request.event));
    if (state) state.status = rendered.statusCode;
    request.response = {
      statusCode: rendered.statusCode,
      headers: { ...rendered.headers, 'x-request-id': requestId },
      body: rendered.body,
    };
  };
  return { onError: errorResponderOnError };
};
