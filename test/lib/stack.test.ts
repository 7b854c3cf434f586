import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROXY_ACCESS } from '../../lib/access.ts';
import {
  KEYS_BY_ACCOUNT_INDEX,
  KEYS_BY_KEY_ID_INDEX,
  LEDGER_PENDING_INDEX,
  MEMBERS_BY_ACCOUNT_INDEX,
  TABLE_NAMES,
  TABLE_SCHEMAS,
  type TableName,
  tableEnvVar,
} from '../../lib/tables.ts';
import { TollgateStack } from '../../lib/tollgate-stack.ts';
import { actionsOf, IN_MEMORY, NO_BUNDLING, roleStatements, type Statement, tollgateApp } from './app.ts';

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; violatingConstructs: unknown[] }[] }[];
}

const keySchema = (partitionKey: { name: string }, sortKey?: { name: string }) => [
  { AttributeName: partitionKey.name, KeyType: 'HASH' },
  ...(sortKey ? [{ AttributeName: sortKey.name, KeyType: 'RANGE' }] : []),
];

// Each function's DynamoDB grants, written out: a new grant fails here until it is added on purpose.
const PROXY_GRANTS = {
  keys: ['dynamodb:GetItem'],
  routes: ['dynamodb:Scan'],
  wallets: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  ledger: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  counters: ['dynamodb:UpdateItem'],
};
const SWEEPER_GRANTS = {
  wallets: ['dynamodb:UpdateItem'],
  ledger: ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  [`ledger/index/${LEDGER_PENDING_INDEX}`]: ['dynamodb:Query'],
  [`members/index/${MEMBERS_BY_ACCOUNT_INDEX}`]: ['dynamodb:Query'],
};
const CONSOLE_GRANTS = {
  keys: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  [`keys/index/${KEYS_BY_ACCOUNT_INDEX}`]: ['dynamodb:Query'],
  [`keys/index/${KEYS_BY_KEY_ID_INDEX}`]: ['dynamodb:Query'],
  wallets: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  ledger: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
  routes: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
  members: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  [`members/index/${MEMBERS_BY_ACCOUNT_INDEX}`]: ['dynamodb:Query'],
  sessions: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  counters: ['dynamodb:UpdateItem'],
  codes: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
};

/** `table` or `table/index/name` → the sorted DynamoDB actions the function's role has on it. */
const dynamoGrants = (template: Template, functionId: string): Record<string, string[]> => {
  const grants: Record<string, string[]> = {};
  for (const statement of roleStatements(template, functionId)) {
    const actions = actionsOf(statement).filter((a) => a.startsWith('dynamodb:'));
    if (actions.length === 0) continue;
    expect(statement.Effect).toBe('Allow');
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resources) {
      const text = JSON.stringify(resource);
      const table = /"(\w+?)Table[0-9A-F]{8}"/.exec(text)?.[1]?.toLowerCase();
      if (!table) throw new Error(`DynamoDB grant on something other than a table: ${text}`);
      const index = /\/index\/([^"]+)"/.exec(text)?.[1];
      const key = index ? `${table}/index/${index}` : table;
      grants[key] = [...(grants[key] ?? []), ...actions].sort();
    }
  }
  return grants;
};

const proxyStatements = (template: Template): Statement[] => roleStatements(template, 'Proxy');
const sweeperStatements = (template: Template): Statement[] => roleStatements(template, 'Sweeper');
const consoleStatements = (template: Template): Statement[] => roleStatements(template, 'Console');
const lambdaFunction = (template: Template, idPrefix: string): Record<string, unknown> => {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith(idPrefix));
  if (!found) throw new Error(`no function ${idPrefix}`);
  return (found[1] as { Properties: Record<string, unknown> }).Properties;
};

describe('TollgateStack', () => {
  // Prepare: one app holding dev and prod side by side, synthesized (and bundled) once for the file.
  let app: App;
  let dev: Template;
  let prod: Template;
  let assemblyDir: string;

  beforeAll(() => {
    const built = tollgateApp(['dev', 'prod']);
    app = built.app;
    assemblyDir = app.synth().directory;
    const [devStack, prodStack] = built.stacks as [TollgateStack, TollgateStack];
    dev = Template.fromStack(devStack);
    prod = Template.fromStack(prodStack);
  });

  describe('proxy function', () => {
    it('is served from a streaming function URL that Tollgate keys, not IAM, authenticate', () => {
      // The proxy's and the console's.
      dev.resourceCountIs('AWS::Lambda::Url', 2);
      dev.hasResourceProperties('AWS::Lambda::Url', {
        AuthType: 'NONE',
        InvokeMode: 'RESPONSE_STREAM',
        TargetFunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Proxy'), 'Arn'] },
      });
    });

    it('runs on Node.js 24 arm64 for up to 15 minutes with 1024 MB by default', () => {
      dev.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 900,
        MemorySize: 1024,
        Handler: 'index.handler',
      });
    });

    it('ships one ESM bundle per function with its source map beside it, read only when a stack is formatted', () => {
      const assets = readdirSync(assemblyDir).filter((entry) => entry.startsWith('asset.'));
      const bundles = assets.filter((asset) => existsSync(join(assemblyDir, asset, 'index.mjs')));
      // The proxy's, the sweeper's and the console's; dev and prod share each bundle.
      expect(bundles).toHaveLength(3);
      for (const bundle of bundles) {
        expect(readdirSync(join(assemblyDir, bundle)).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      }
      // Not Node's --enable-source-maps, which reads the map at every cold start.
      dev.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ NODE_OPTIONS: Match.absent() }) },
      });
    });

    it('tells the code its tables, reports topic, stage and where credentials live', () => {
      const proxyTables = Object.keys(PROXY_ACCESS) as TableName[];
      const tableVars = Object.fromEntries(proxyTables.map((name) => [tableEnvVar(name), Match.anyValue()]));
      const { Variables } = lambdaFunction(dev, 'Proxy')['Environment'] as { Variables: Record<string, unknown> };
      // The console's tables are not the proxy's business.
      expect(Variables).not.toHaveProperty(tableEnvVar('members'));
      expect(Variables).not.toHaveProperty(tableEnvVar('sessions'));
      dev.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            ...tableVars,
            TOLLGATE_REPORTS_TOPIC_ARN: Match.anyValue(),
            TOLLGATE_CREDENTIALS_SOURCE: 'secretsmanager',
            TOLLGATE_SECRET_PREFIX: 'tollgate/dev/',
            TOLLGATE_STAGE: 'dev',
            POWERTOOLS_SERVICE_NAME: 'tollgate-proxy',
            POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
          }),
        },
      });
    });

    it('logs as JSON to its own log group, which keeps logs for a bounded time', () => {
      dev.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: Match.anyValue() });
      dev.hasResourceProperties('AWS::Lambda::Function', {
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: Match.stringLikeRegexp('^ProxyLogGroup') } },
      });
    });
  });

  describe('sweeper', () => {
    it('runs on Node.js 24 arm64 for up to 5 minutes with 256 MB', () => {
      expect(lambdaFunction(dev, 'Sweeper')).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 300,
        MemorySize: 256,
        Handler: 'index.handler',
      });
    });

    it("expires holds a minute after the proxy's 15-minute limit and names its metrics service", () => {
      const { Variables } = lambdaFunction(dev, 'Sweeper')['Environment'] as { Variables: Record<string, unknown> };
      expect(Variables).toMatchObject({
        TOLLGATE_HOLD_EXPIRY: '960',
        POWERTOOLS_SERVICE_NAME: 'tollgate-sweeper',
        POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
        TOLLGATE_TABLE_WALLETS: { Ref: expect.stringMatching(/^WalletsTable/) },
        TOLLGATE_TABLE_LEDGER: { Ref: expect.stringMatching(/^LedgerTable/) },
      });
      expect(Variables).not.toHaveProperty('TOLLGATE_TABLE_KEYS');
      expect(Variables).not.toHaveProperty('TOLLGATE_TABLE_ROUTES');
    });

    it('runs every 5 minutes from an EventBridge rule that retries delivery', () => {
      dev.resourceCountIs('AWS::Events::Rule', 1);
      dev.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(5 minutes)',
        State: 'ENABLED',
        Targets: [
          {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Sweeper'), 'Arn'] },
            Id: Match.anyValue(),
            RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
          },
        ],
      });
      dev.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        Principal: 'events.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Sweeper'), 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweeperSchedule'), 'Arn'] },
      });
    });

    it('leaves retries of a failed run to the next scheduled run', () => {
      dev.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: Match.stringLikeRegexp('^Sweeper') },
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 300,
      });
    });

    it('may only query the pendingHolds index and update ledger rows and wallets (the settle), and nothing else', () => {
      expect(dynamoGrants(dev, 'Sweeper')).toEqual(SWEEPER_GRANTS);
      // Besides the tables, only its own log group: no topic, no secrets, no SES without a sender.
      const others = sweeperStatements(dev).filter((s) => !actionsOf(s).some((a) => a.startsWith('dynamodb:')));
      expect(others.flatMap(actionsOf).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    });

    it("mails low-balance alerts through SES from the senderEmail only, linking the console's wallet page", () => {
      const template = Template.fromStack(
        tollgateApp(['dev'], {
          ...NO_BUNDLING,
          senderEmail: 'alerts@mail.example.com',
          consoleUrl: 'https://console.example.com/console/',
        }).stacks[0] as TollgateStack,
      );
      const variables = (t: Template) =>
        (lambdaFunction(t, 'Sweeper')['Environment'] as { Variables: Record<string, unknown> }).Variables;
      const ses = sweeperStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('ses:')));

      expect(variables(template)).toMatchObject({
        TOLLGATE_SENDER_EMAIL: 'alerts@mail.example.com',
        TOLLGATE_CONSOLE_URL: 'https://console.example.com/console',
      });
      expect(ses).toHaveLength(1);
      expect(ses[0]).toMatchObject({
        Action: 'ses:SendEmail',
        Condition: { StringEquals: { 'ses:FromAddress': 'alerts@mail.example.com' } },
      });
      // Without context: no sender, and the console's own function URL for the link.
      expect(variables(dev)).not.toHaveProperty('TOLLGATE_SENDER_EMAIL');
      expect(variables(dev)['TOLLGATE_CONSOLE_URL']).toBeDefined();
    });
  });

  describe('console function', () => {
    const environment = (template: Template): Record<string, unknown> =>
      (lambdaFunction(template, 'Console')['Environment'] as { Variables: Record<string, unknown> }).Variables;
    const codeKey = (template: Template, idPrefix: string): string =>
      (lambdaFunction(template, idPrefix)['Code'] as { S3Key: string }).S3Key;
    /** The files esbuild put into a function's bundle, from its source map. */
    const bundledSources = (template: Template, idPrefix: string): string[] => {
      const asset = `asset.${codeKey(template, idPrefix).replace(/\.zip$/, '')}`;
      const map = JSON.parse(readFileSync(join(assemblyDir, asset, 'index.mjs.map'), 'utf8')) as { sources: string[] };
      return map.sources;
    };
    const sesStatements = (template: Template): Statement[] =>
      consoleStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith('ses:')));
    const withContext = (context: Record<string, unknown>): Template =>
      Template.fromStack(tollgateApp(['dev'], { ...NO_BUNDLING, ...context }).stacks[0] as TollgateStack);

    it('runs on Node.js 24 arm64 for up to 30 seconds with 256 MB', () => {
      expect(lambdaFunction(dev, 'Console')).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Timeout: 30,
        MemorySize: 256,
        Handler: 'index.handler',
      });
    });

    it("ships its own bundle, built from lambdas/console.ts, and none of it reaches the proxy's", () => {
      expect(codeKey(dev, 'Console')).not.toBe(codeKey(dev, 'Proxy'));
      expect(codeKey(dev, 'Console')).not.toBe(codeKey(dev, 'Sweeper'));
      expect(bundledSources(dev, 'Console').some((source) => source.endsWith('lambdas/console.ts'))).toBe(true);
      const consoleOnly =
        /lambdas\/console(\.ts|\/)|lambdas\/mail\/|node_modules\/(preact|preact-render-to-string|htm|@middy\/http-security-headers)\//;
      expect(bundledSources(dev, 'Proxy').filter((source) => consoleOnly.test(source))).toEqual([]);
    });

    it('is served from its own streaming function URL, open to callers: the console signs people in itself', () => {
      dev.hasResourceProperties('AWS::Lambda::Url', {
        AuthType: 'NONE',
        InvokeMode: 'RESPONSE_STREAM',
        TargetFunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Console'), 'Arn'] },
      });
    });

    it("tells the code its tables, its service name and the gateway's public base URL without a trailing slash", () => {
      const tableVars = Object.fromEntries(
        (['keys', 'wallets', 'routes', 'ledger', 'members', 'sessions', 'counters', 'codes'] as const).map((name) => [
          tableEnvVar(name),
          { Ref: expect.stringMatching(new RegExp(`^${name.charAt(0).toUpperCase()}${name.slice(1)}Table`)) },
        ]),
      );
      expect(environment(dev)).toMatchObject({
        ...tableVars,
        TOLLGATE_STAGE: 'dev',
        POWERTOOLS_SERVICE_NAME: 'tollgate-console',
        POWERTOOLS_METRICS_NAMESPACE: 'Tollgate',
        // `https://<id>.lambda-url.<region>.on.aws/` → `https://<id>.lambda-url.<region>.on.aws`
        TOLLGATE_GATEWAY_URL: {
          'Fn::Join': [
            '',
            [
              'https://',
              {
                'Fn::Select': [
                  2,
                  { 'Fn::Split': ['/', { 'Fn::GetAtt': [expect.stringMatching(/^ProxyFunctionUrl/), 'FunctionUrl'] }] },
                ],
              },
            ],
          ],
        },
      });
      // Behind the shield, the gateway is CloudFront's.
      expect(environment(prod)['TOLLGATE_GATEWAY_URL']).toEqual({
        'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [expect.stringMatching(/^EdgeDistribution/), 'DomainName'] }]],
      });
      // Without context, no sender and no custom console URL.
      expect(environment(dev)).not.toHaveProperty('TOLLGATE_SENDER_EMAIL');
      expect(environment(dev)).not.toHaveProperty('TOLLGATE_CONSOLE_URL');
    });

    it('takes the sender address and a custom console URL from context senderEmail and consoleUrl', () => {
      const template = withContext({
        senderEmail: 'console@mail.example.com',
        consoleUrl: 'https://console.example.com/console/',
      });

      expect(environment(template)).toMatchObject({
        TOLLGATE_SENDER_EMAIL: 'console@mail.example.com',
        TOLLGATE_CONSOLE_URL: 'https://console.example.com/console',
      });
    });

    it('rejects a senderEmail or consoleUrl that cannot be right', () => {
      expect(() => withContext({ senderEmail: 'console' })).toThrow(/senderEmail 'console'/);
      expect(() => withContext({ consoleUrl: 'http://console.example.com' })).toThrow(/consoleUrl/);
    });

    it('grants exactly the DynamoDB actions the console calls: no Scan on keys, ledger or wallets, no Delete on keys or ledger', () => {
      expect(dynamoGrants(dev, 'Console')).toEqual(CONSOLE_GRANTS);
      expect(dynamoGrants(prod, 'Console')).toEqual(CONSOLE_GRANTS);
      const grants = dynamoGrants(dev, 'Console');
      for (const table of ['keys', 'ledger', 'wallets', 'codes']) {
        expect(grants[table], table).not.toContain('dynamodb:Scan');
      }
      for (const table of ['keys', 'ledger', 'codes'])
        expect(grants[table], table).not.toContain('dynamodb:DeleteItem');
      // The console moves money only by a top-up (a redeemed code): the wallet is updated (never a
      // row put or deleted), and ledger rows are added (its one ledger update is a key's spend row,
      // restarted when the key's limit is set). Codes are redeemed, never minted.
      expect(grants['wallets']).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(grants['ledger']).toEqual([
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
      ]);
      expect(grants['codes']).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    });

    it('may not use SES, nor anything but its tables, logs, the reports topic and the Stripe secrets, without a senderEmail', () => {
      expect(sesStatements(dev)).toEqual([]);
      const nonTable = [
        ...new Set(
          consoleStatements(dev)
            .flatMap(actionsOf)
            .filter((a) => !a.startsWith('dynamodb:')),
        ),
      ].sort();
      expect(nonTable).toEqual([
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
      ]);
    });

    it('may read the two Stripe secrets only, by name, outside the provider-credential prefix', () => {
      const reads = consoleStatements(dev).filter((statement) =>
        actionsOf(statement).includes('secretsmanager:GetSecretValue'),
      );

      expect(reads).toHaveLength(1);
      const resources = JSON.stringify(reads[0]?.Resource);
      expect(resources).toContain(':secret:tollgate-payments/dev/stripe-secret-key-??????');
      expect(resources).toContain(':secret:tollgate-payments/dev/stripe-webhook-secret-??????');
      expect(resources).not.toContain('*');
      const env = (lambdaFunction(dev, 'Console') as { Environment: { Variables: Record<string, unknown> } })
        .Environment.Variables;
      expect(env).toMatchObject({
        TOLLGATE_STRIPE_SECRET_KEY_NAME: 'tollgate-payments/dev/stripe-secret-key',
        TOLLGATE_STRIPE_WEBHOOK_SECRET_NAME: 'tollgate-payments/dev/stripe-webhook-secret',
      });
    });

    it("may send e-mail with a senderEmail: ses:SendEmail on the address's and its domain's identities, from that address only", () => {
      const template = withContext({ senderEmail: 'console@mail.example.com' });
      // Without the shield the stack is environment-agnostic: region and account are pseudo parameters.
      const identity = (name: string) => ({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':ses:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:identity/${name}`,
          ],
        ],
      });

      expect(sesStatements(template)).toEqual([
        {
          Effect: 'Allow',
          Action: 'ses:SendEmail',
          Resource: [identity('console@mail.example.com'), identity('mail.example.com')],
          Condition: { StringEquals: { 'ses:FromAddress': 'console@mail.example.com' } },
        },
      ]);
    });
  });

  describe('tables', () => {
    it.each(TABLE_NAMES)('creates %s with the key schema and GSIs of TABLE_SCHEMAS', (name) => {
      const schema = TABLE_SCHEMAS[name];
      dev.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: `tollgate-dev-${name}`,
        KeySchema: keySchema(schema.partitionKey, schema.sortKey),
        ...(schema.globalSecondaryIndexes.length > 0
          ? {
              GlobalSecondaryIndexes: schema.globalSecondaryIndexes.map((index) => ({
                IndexName: index.indexName,
                KeySchema: keySchema(index.partitionKey, index.sortKey),
                Projection: { ProjectionType: 'ALL' },
              })),
            }
          : { GlobalSecondaryIndexes: Match.absent() }),
        ...(schema.timeToLiveAttribute && {
          TimeToLiveSpecification: { AttributeName: schema.timeToLiveAttribute, Enabled: true },
        }),
      });
    });

    it('expires console sign-in links and sessions by TTL on expiresAt', () => {
      dev.hasResourceProperties('AWS::DynamoDB::Table', {
        TableName: 'tollgate-dev-sessions',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });

    it('bills on demand with point-in-time recovery on', () => {
      dev.resourceCountIs('AWS::DynamoDB::Table', TABLE_NAMES.length);
      dev.allResourcesProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    });

    it('protects and retains prod tables, while dev tables can be torn down', () => {
      prod.allResources('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({ DeletionProtectionEnabled: true }),
      });
      dev.allResources('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Delete',
        Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
      });
    });
  });

  describe('permissions', () => {
    it('grants the proxy exactly the DynamoDB actions its code calls, read-only on keys and routes', () => {
      expect(dynamoGrants(dev, 'Proxy')).toEqual(PROXY_GRANTS);
      expect(dynamoGrants(prod, 'Proxy')).toEqual(PROXY_GRANTS);
    });

    it('grants no function BatchWrite or a wildcard action, Delete only to the console on members and sessions, and Scan only on routes', () => {
      for (const template of [dev, prod]) {
        const all = [...proxyStatements(template), ...sweeperStatements(template), ...consoleStatements(template)];
        const actions = all.flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
        expect(actions.filter((a) => /BatchWrite|\*/.test(a))).toEqual([]);
        for (const fn of ['Proxy', 'Sweeper', 'Console']) {
          const grants = Object.entries(dynamoGrants(template, fn));
          const tablesWith = (action: string) => grants.filter(([, a]) => a.includes(action)).map(([table]) => table);
          expect(tablesWith('dynamodb:DeleteItem'), fn).toEqual(fn === 'Console' ? ['members', 'sessions'] : []);
          expect(tablesWith('dynamodb:Scan'), fn).toEqual(fn === 'Sweeper' ? [] : ['routes']);
        }
      }
    });

    it('gives the proxy and the sweeper nothing on the members, sessions and codes tables (the sweeper: members by account)', () => {
      for (const fn of ['Proxy', 'Sweeper']) {
        const grants = Object.keys(dynamoGrants(dev, fn));
        const tables = grants
          .filter((key) => key !== `members/index/${MEMBERS_BY_ACCOUNT_INDEX}`)
          .map((key) => key.split('/')[0]);
        expect(tables, fn).not.toContain('members');
        expect(tables, fn).not.toContain('sessions');
        expect(tables, fn).not.toContain('codes');
      }
    });

    it('grants the proxy nothing beyond its tables, its secrets, the reports topic and its logs', () => {
      const nonTable = (template: Template) =>
        proxyStatements(template)
          .flatMap(actionsOf)
          .filter((a) => !a.startsWith('dynamodb:'))
          .sort();
      const base = [
        'kms:Decrypt',
        'kms:GenerateDataKey*',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
      ];
      expect(nonTable(dev)).toEqual(base);
      // Behind the shield, one more GetSecretValue: the origin secret, by its ARN.
      expect(nonTable(prod)).toEqual([...base, 'secretsmanager:GetSecretValue'].sort());
    });

    it("limits GetSecretValue to secrets under the stage's prefix tollgate/<stage>/", () => {
      const secrets = proxyStatements(dev).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
      expect(secrets).toHaveLength(1);
      expect(actionsOf(secrets[0] as Statement)).toEqual(['secretsmanager:GetSecretValue']);
      expect(JSON.stringify(secrets[0]?.Resource)).toMatch(/:secret:tollgate\/dev\/\*"\]\]\}$/);
      expect(JSON.stringify(proxyStatements(prod))).toContain(':secret:tollgate/prod/*');
    });

    it('reads the origin secret by its own ARN, outside the prefix any route credential can name', () => {
      const secrets = proxyStatements(prod).filter((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
      expect(secrets.map((s) => s.Resource)).toContainEqual({ Ref: expect.stringMatching(/^EdgeOriginSecret/) });
      prod.hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: 'tollgate-prod-origin-verify',
        GenerateSecretString: Match.objectLike({ PasswordLength: 48 }),
        SecretString: Match.absent(),
      });
    });

    it('uses no AWS managed policies (the role writes only its own log group)', () => {
      dev.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    });

    it('lets the proxy publish to the reports topic', () => {
      expect(proxyStatements(dev)).toContainEqual(
        expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: expect.stringMatching(/^ReportsTopic/) } }),
      );
    });
  });

  describe('reports topic', () => {
    it('is encrypted with a rotating customer-managed KMS key', () => {
      dev.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReportsKey'), 'Arn'] },
      });
      dev.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    });

    it('refuses publishes that do not use TLS', () => {
      dev.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });
  });

  it('outputs the URL, the console URL, every table name, the topic ARN, the table prefix and the stage', () => {
    dev.hasOutput('ProxyUrl', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyFunctionUrl'), 'FunctionUrl'] },
    });
    for (const name of TABLE_NAMES) {
      const capitalized = name.charAt(0).toUpperCase() + name.slice(1);
      dev.hasOutput(`${capitalized}TableName`, { Value: { Ref: Match.stringLikeRegexp(`^${capitalized}Table`) } });
    }
    dev.hasOutput('ConsoleUrl', {
      Value: {
        'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^ConsoleFunctionUrl'), 'FunctionUrl'] }, 'console']],
      },
    });
    dev.hasOutput('ReportsTopicArn', { Value: { Ref: Match.stringLikeRegexp('^ReportsTopic') } });
    dev.hasOutput('TablePrefix', { Value: 'tollgate-dev' });
    dev.hasOutput('Stage', { Value: 'dev' });
    dev.hasOutput('SweeperFunctionName', { Value: { Ref: Match.stringLikeRegexp('^Sweeper') } });
    dev.hasOutput('DashboardName', { Value: { Ref: Match.stringLikeRegexp('^MonitoringDashboard') } });
  });

  describe('cdk-nag AwsSolutions', () => {
    it('reports no finding: each one is fixed or acknowledged with a reason', () => {
      // cdk-nag v3 is a policy-validation plugin: findings land in the assembly's validation report.
      const report = JSON.parse(readFileSync(join(assemblyDir, 'validation-report.json'), 'utf8')) as ValidationReport;
      expect(report.pluginReports.flatMap((r) => r.violations.map((v) => `${r.pluginName}: ${v.ruleName}`))).toEqual(
        [],
      );
      // The same pack run directly names any finding in the failure message.
      expect(new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName)).toEqual([]);
    });

    it('fails synthesis on a finding nobody acknowledged', () => {
      const other = new App({ context: IN_MEMORY });
      const stack = new Stack(other, 'Wildcards');
      new Role(stack, 'Role', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') }).addToPolicy(
        new PolicyStatement({ actions: ['s3:*'], resources: ['*'] }),
      );
      Validations.of(other).addPlugins(new AwsSolutionsChecks(other));

      expect(() => other.synth()).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\]/);
    });
  });

  describe('stages', () => {
    const NOT_PHYSICAL = new Set(['PolicyName', 'MetricName']);

    it('synthesizes dev and prod side by side in one app without physical name clashes', () => {
      const physicalNames = (template: Template): string[] =>
        Object.values(template.toJSON()['Resources'] as Record<string, { Properties?: Record<string, unknown> }>)
          .flatMap((resource) => Object.entries(resource.Properties ?? {}))
          // Inline policy names are scoped to their role, and metric names are not resource names.
          .filter(([key, value]) => /Name$/.test(key) && !NOT_PHYSICAL.has(key) && typeof value === 'string')
          .map(([, value]) => value as string);
      const devNames = physicalNames(dev);
      expect(devNames).toEqual(expect.arrayContaining(['Tollgate-dev', 'Tollgate-dev-ProxyErrors']));
      const prodNames = physicalNames(prod);

      expect(devNames).toEqual(expect.arrayContaining(TABLE_NAMES.map((name) => `tollgate-dev-${name}`)));
      expect(prodNames).toEqual(expect.arrayContaining(TABLE_NAMES.map((name) => `tollgate-prod-${name}`)));
      expect(devNames.filter((name) => prodNames.includes(name))).toEqual([]);
    });

    it('rejects a stage that cannot be part of resource names', () => {
      expect(() => new TollgateStack(new App(), 'Bad', { stage: 'Prod_1' })).toThrow(/Stage 'Prod_1'/);
    });

    it('takes deletion protection and proxy memory from context', () => {
      const { stacks } = tollgateApp(['dev'], { ...NO_BUNDLING, deletionProtection: 'true', proxyMemorySize: '2048' });
      const template = Template.fromStack(stacks[0] as TollgateStack);

      template.allResourcesProperties('AWS::DynamoDB::Table', { DeletionProtectionEnabled: true });
      template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 2048 });
    });
  });
});
