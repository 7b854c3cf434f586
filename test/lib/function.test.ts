import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SCHEMAS } from '../../lib/tables.ts';
import { TollgateFunction } from '../../lib/tollgate-function.ts';
import { TollgateTable } from '../../lib/tollgate-table.ts';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

describe('TollgateFunction', () => {
  let template: Template;

  beforeAll(() => {
    // Prepare: inline code keeps esbuild out of a test about defaults and grants.
    const stack = new Stack(new App(), 'Fn');
    const keys = new TollgateTable(stack, 'Keys', { schema: TABLE_SCHEMAS.keys });
    const ledger = new TollgateTable(stack, 'Ledger', { schema: TABLE_SCHEMAS.ledger });
    new TollgateFunction(stack, 'Reader', {
      code: Code.fromInline('export const handler = async () => {};'),
      handler: 'index.handler',
      logRetention: RetentionDays.ONE_WEEK,
    })
      .bindTable(keys, { table: ['GetItem'] })
      .bindTable(ledger, { table: ['PutItem', 'UpdateItem'], indexes: { pendingHolds: ['Query'] } });
    template = Template.fromStack(stack);
  });

  const statements = (): Statement[] => {
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0] as {
      Properties: { PolicyDocument: { Statement: Statement[] } };
    };
    return policy.Properties.PolicyDocument.Statement.filter((s) => JSON.stringify(s.Action).includes('dynamodb:'));
  };

  it('fixes Node.js 24 on arm64, without --enable-source-maps (the bundle maps its own stacks, on first use)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: Match.absent() }) },
    });
  });

  it('sets TOLLGATE_TABLE_<NAME> for each bound table', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TOLLGATE_TABLE_KEYS: { Ref: Match.stringLikeRegexp('^Keys') },
          TOLLGATE_TABLE_LEDGER: { Ref: Match.stringLikeRegexp('^Ledger') },
        }),
      },
    });
  });

  it('grants exactly the actions named, one statement for the table and one per named index', () => {
    expect(statements()).toEqual([
      {
        Effect: 'Allow',
        Action: 'dynamodb:GetItem',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Keys/), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Ledger/), 'Arn'] },
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: {
          'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Ledger/), 'Arn'] }, '/index/pendingHolds']],
        },
      },
    ]);
  });

  it('refuses an index the table does not have', () => {
    const stack = new Stack(new App(), 'Bad');
    const keys = new TollgateTable(stack, 'Keys', { schema: TABLE_SCHEMAS.keys });
    const fn = new TollgateFunction(stack, 'Fn', {
      code: Code.fromInline('export const handler = async () => {};'),
      handler: 'index.handler',
    });
    expect(() => fn.bindTable(keys, { table: [], indexes: { pendingHolds: ['Query'] } })).toThrow(/no index/);
  });

  it('logs to its own log group with the given retention, writable by its role only', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Effect: 'Allow',
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReaderLogGroup'), 'Arn'] },
          },
        ]),
      },
    });
    template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });
});
