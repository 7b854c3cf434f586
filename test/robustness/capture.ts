import { format } from 'node:util';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';
import { vi } from 'vitest';
import type { GatewayConfig } from '../../lambdas/gateway/config.ts';
import type { ConfigurationReport } from '../../lambdas/reports/reporter.ts';
import { type LocalGateway, startLocalGateway } from '../../lambdas/runtime/local-gateway.ts';
import type { Stores } from '../../lambdas/store/index.ts';

/** Every line the gateway wrote: its Powertools logs, anything on the console, and its reports. */
export interface Captured {
  logs: string[];
  console: string[];
  reports: ConfigurationReport[];
}

/** A Powertools Logger whose output lands in `lines`, serialized exactly as it would be printed. */
const capturingLogger = (lines: string[], logLevel: 'DEBUG' | 'INFO') => {
  class CapturingLogger extends Logger {
    protected override printLog(_level: number, log: LogItem): void {
      log.prepareForPrint();
      lines.push(JSON.stringify(log.getAttributes(), this.getJsonReplacer()));
    }
  }
  return new CapturingLogger({ serviceName: 'tollgate-proxy', logLevel });
};

/**
 * The local gateway (the real handler behind the function-URL emulation) with its logs, console
 * output and configuration reports captured, caches off unless `config` says otherwise.
 * `startTestGateway` silences its logger; this one keeps every line so tests can read them.
 *
 * @example
 * const { gateway, captured } = await startCapturedGateway(db.stores, env, {}, 'INFO');
 * expect(captured.logs.join('\n')).not.toContain(secret);
 */
export const startCapturedGateway = async (
  stores: Stores,
  env: NodeJS.ProcessEnv,
  config: Partial<GatewayConfig> = {},
  logLevel: 'DEBUG' | 'INFO' = 'INFO',
): Promise<{ gateway: LocalGateway; captured: Captured }> => {
  const captured: Captured = { logs: [], console: [], reports: [] };
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      captured.console.push(format(...args));
    });
  }
  const gateway = await startLocalGateway({
    stores,
    env,
    reportSink: { publish: async (report) => void captured.reports.push(report) },
    config: { keyCacheTtlMs: 0, negativeKeyCacheTtlMs: 0, routeCacheTtlMs: 0, ...config },
    logger: capturingLogger(captured.logs, logLevel),
  });
  return { gateway, captured };
};
