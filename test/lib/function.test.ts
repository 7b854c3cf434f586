import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SCHEMAS } from '../../lib/tables.ts';
import { TollgateFunction } from '../../lib/tollgate-function.ts';
import { TollgateTable } from '../../lib/tollgate-table.ts';

type Statement = { Action: string | string[]; Resource: unknown };

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
      .bindTable(keys, 'read')
      .bindTable(ledger, 'readWrite');
    template = Template.fromStack(stack);
  });

  const statementFor = (tableLogicalId: RegExp): Statement => {
    const policy = Object.values(template.findResources('AWS::IAM::Policy'))[0] as {
      Properties: { PolicyDocument: { Statement: Statement[] } };
    };
    const found = policy.Properties.PolicyDocument.Statement.find((s) =>
      tableLogicalId.test(JSON.stringify(s.Resource)),
    );
    if (!found) throw new Error(`no statement for ${tableLogicalId}`);
    return found;
  };

  it('fixes Node.js 24 on arm64 with source maps enabled', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
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

  it('grants read without any write action', () => {
    const actions = statementFor(/"Keys[0-9A-F]+"/).Action;
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
    expect(actions).not.toEqual(expect.arrayContaining(['dynamodb:PutItem']));
    expect(actions).not.toEqual(expect.arrayContaining(['dynamodb:UpdateItem']));
    expect(actions).not.toEqual(expect.arrayContaining(['dynamodb:DeleteItem']));
  });

  it('grants readWrite on the table and its named GSIs, never index/*', () => {
    const statement = statementFor(/"Ledger[0-9A-F]+"/);
    expect(statement.Action).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:UpdateItem']));
    expect(JSON.stringify(statement.Resource)).toContain('/index/pendingHolds');
    expect(JSON.stringify(statement.Resource)).not.toContain('*');
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
