import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCloudFormation {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_CLOUDFORMATION`. */
  endpoint: string;
  /** The form parameters of every request received, e.g. `{ Action: 'DescribeStacks', StackName: 'x' }`. */
  requests: Record<string, string>[];
  close(): Promise<void>;
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

const describeStacksXml = (name: string, outputs: Record<string, string>): string => {
  const members = Object.entries(outputs)
    .map(
      ([key, value]) =>
        `<member><OutputKey>${escapeXml(key)}</OutputKey><OutputValue>${escapeXml(value)}</OutputValue><Description>${escapeXml(key)}</Description></member>`,
    )
    .join('');
  return `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks><member><StackName>${escapeXml(name)}</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/${escapeXml(name)}/0f0e0d0c</StackId><CreationTime>2026-11-01T00:00:00.000Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata></DescribeStacksResponse>`;
};

// The error CloudFormation sends for an unknown stack name.
const missingStackXml = (name: string): string =>
  `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${escapeXml(name)} does not exist</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>`;

/**
 * A CloudFormation endpoint on 127.0.0.1 that answers DescribeStacks in the AWS Query protocol
 * (form-encoded request, XML response) the SDK's client speaks, from a map of stack name → outputs.
 *
 * @example const cfn = await startFakeCloudFormation({ 'Tollgate-prod': { TablePrefix: 'tollgate-prod' } });
 */
export const startFakeCloudFormation = async (
  stacks: Record<string, Record<string, string>>,
): Promise<FakeCloudFormation> => {
  const requests: Record<string, string>[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      const params = Object.fromEntries(new URLSearchParams(body));
      requests.push(params);
      const name = params['StackName'] ?? '';
      const outputs = stacks[name];
      const ok = params['Action'] === 'DescribeStacks' && outputs !== undefined;
      response.writeHead(ok ? 200 : 400, { 'content-type': 'text/xml' });
      response.end(ok ? describeStacksXml(name, outputs) : missingStackXml(name));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
};
