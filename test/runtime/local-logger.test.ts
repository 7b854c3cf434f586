import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalLogger } from '../../lambdas/runtime/local-logger.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tollgate-local-logger-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const refused = (): Error =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', syscall: 'connect' });

describe('the npm start logger', () => {
  it('prints an upstream failure as one line and keeps the stack in the structured log', () => {
    // Prepare
    const file = join(scratch, 'upstream.log');
    const lines: string[] = [];
    const logger = new LocalLogger(
      { serviceName: 'tollgate-proxy', logLevel: 'WARN' },
      { print: (line) => lines.push(line), file },
    );

    // Act
    logger.error('request failed', {
      requestId: 'gen-42',
      status: 502,
      model: 'tollgate-echo',
      type: 'api_error',
      error: refused(),
    });

    // Assess
    expect(lines).toEqual([
      expect.stringMatching(
        /^\d\d:\d\d:\d\d upstream error: connect ECONNREFUSED 127\.0\.0\.1:9 \(model tollgate-echo, request gen-42\)$/,
      ),
    ]);
    const logged = readFileSync(file, 'utf8').trim().split('\n');
    expect(logged).toHaveLength(1);
    const entry = JSON.parse(logged[0] ?? '');
    expect(entry).toMatchObject({ level: 'ERROR', message: 'request failed', requestId: 'gen-42', status: 502 });
    expect(entry.error.stack).toContain('connect ECONNREFUSED');
  });

  it('prints warnings as one line too, and nothing below its level', () => {
    const file = join(scratch, 'warn.log');
    const lines: string[] = [];
    const logger = new LocalLogger(
      { serviceName: 'tollgate-proxy', logLevel: 'WARN' },
      { print: (line) => lines.push(line), file },
    );

    logger.info('request settled', { requestId: 'gen-1' });
    logger.warn('falling back', { requestId: 'gen-2', from: 'a', to: 'b' });
    logger
      .createChild({ serviceName: 'child' })
      .error('request refused', { requestId: 'gen-3', status: 500, reason: 'boom' });

    expect(lines).toEqual([
      expect.stringMatching(/^\d\d:\d\d:\d\d falling back \(request gen-2\)$/),
      expect.stringMatching(/^\d\d:\d\d:\d\d request refused: boom \(status 500, request gen-3\)$/),
    ]);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2);
  });
});
