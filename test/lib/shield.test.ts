import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { addTollgate } from '../../lib/tollgate-app.ts';
import { BODY_RULES_COUNTED } from '../../lib/tollgate-shield.ts';
import type { TollgateStack } from '../../lib/tollgate-stack.ts';
import { NO_BUNDLING, tollgateApp } from './app.ts';

// Managed policy ids CloudFront documents (CachingDisabled, AllViewerExceptHostHeader).
const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const functionUrl = { 'Fn::GetAtt': [Match.stringLikeRegexp('^ProxyFunctionUrl'), 'FunctionUrl'] };

describe('the shield (CloudFront + WAF in front of the function URL)', () => {
  // Prepare: configuration only, so no bundling. prod runs in eu-west-1; its web ACL lives in us-east-1.
  let dev: Template;
  let prod: Template;
  let shield: Template;
  let shieldRegion: string;

  beforeAll(() => {
    const { stacks, shields } = tollgateApp(['dev', 'prod'], NO_BUNDLING);
    const [devStack, prodStack] = stacks as [TollgateStack, TollgateStack];
    dev = Template.fromStack(devStack);
    prod = Template.fromStack(prodStack);
    expect(shields.map((s) => s.stackName)).toEqual(['Tollgate-prod-Shield']);
    shield = Template.fromStack(shields[0] as NonNullable<(typeof shields)[0]>);
    shieldRegion = shields[0]?.region ?? '';
  });

  describe('off for dev', () => {
    it('creates no distribution, web ACL or origin secret, and serves the function URL itself', () => {
      dev.resourceCountIs('AWS::CloudFront::Distribution', 0);
      dev.resourceCountIs('AWS::WAFv2::WebACL', 0);
      dev.resourceCountIs('AWS::SecretsManager::Secret', 0);
      dev.hasOutput('ProxyUrl', { Value: functionUrl });
      expect(dev.findOutputs('OriginUrl')).toEqual({});
      const proxy = Object.values(dev.findResources('AWS::Lambda::Function')).find((f) =>
        JSON.stringify(f).includes('tollgate-proxy'),
      );
      expect(JSON.stringify(proxy)).not.toContain('TOLLGATE_ORIGIN_SECRET_ARN');
    });
  });

  describe('on for prod', () => {
    it('keeps the function URL open (AuthType NONE) and streaming, with the origin header as the gate', () => {
      prod.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE', InvokeMode: 'RESPONSE_STREAM' });
      prod.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            TOLLGATE_ORIGIN_SECRET_ARN: { Ref: Match.stringLikeRegexp('^EdgeOriginSecret') },
          }),
        },
      });
    });

    it('puts the web ACL in us-east-1 with scope CLOUDFRONT, whatever the gateway region', () => {
      expect(shieldRegion).toBe('us-east-1');
      shield.resourceCountIs('AWS::WAFv2::WebACL', 1);
      shield.hasResourceProperties('AWS::WAFv2::WebACL', {
        Name: 'Tollgate-prod-Shield',
        Scope: 'CLOUDFRONT',
        DefaultAction: { Allow: {} },
      });
    });

    it('rate-limits each client IP to 2000 requests per 5 minutes, after the IP reputation list', () => {
      shield.hasResourceProperties('AWS::WAFv2::WebACL', {
        Rules: Match.arrayWith([
          Match.objectLike({
            Name: 'AWSManagedRulesAmazonIpReputationList',
            Priority: 0,
            Statement: {
              ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' },
            },
          }),
          Match.objectLike({
            Name: 'RateLimitPerIp',
            Priority: 1,
            Action: { Block: {} },
            Statement: { RateBasedStatement: { Limit: 2000, EvaluationWindowSec: 300, AggregateKeyType: 'IP' } },
          }),
        ]),
      });
    });

    it.each(Object.entries(BODY_RULES_COUNTED))(
      'runs %s with its body rules counting, not blocking',
      (group, rules) => {
        shield.hasResourceProperties('AWS::WAFv2::WebACL', {
          Rules: Match.arrayWith([
            Match.objectLike({
              Name: group,
              OverrideAction: { None: {} },
              Statement: {
                ManagedRuleGroupStatement: {
                  VendorName: 'AWS',
                  Name: group,
                  RuleActionOverrides: rules.map((name) => ({ Name: name, ActionToUse: { Count: {} } })),
                },
              },
            }),
          ]),
        });
        expect(rules).toContain(group === 'AWSManagedRulesCommonRuleSet' ? 'SizeRestrictions_BODY' : 'Log4JRCE_BODY');
      },
    );

    it('has exactly four rules, all with metrics and sampled requests', () => {
      const [acl] = Object.values(shield.findResources('AWS::WAFv2::WebACL')) as [
        { Properties: { Rules: { Name: string; VisibilityConfig: Record<string, unknown> }[] } },
      ];
      expect(acl.Properties.Rules.map((r) => r.Name)).toEqual([
        'AWSManagedRulesAmazonIpReputationList',
        'RateLimitPerIp',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'AWSManagedRulesCommonRuleSet',
      ]);
      for (const rule of acl.Properties.Rules) {
        expect(rule.VisibilityConfig).toMatchObject({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true });
      }
    });

    it('fronts the function URL with a distribution that caches nothing and forwards every method and header but Host', () => {
      prod.resourceCountIs('AWS::CloudFront::Distribution', 1);
      prod.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          DefaultCacheBehavior: Match.objectLike({
            AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
            CachePolicyId: CACHING_DISABLED,
            OriginRequestPolicyId: ALL_VIEWER_EXCEPT_HOST_HEADER,
            ViewerProtocolPolicy: 'https-only',
            Compress: false,
          }),
          Origins: [
            Match.objectLike({
              DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', functionUrl] }] },
              CustomOriginConfig: Match.objectLike({
                OriginProtocolPolicy: 'https-only',
                OriginReadTimeout: 60,
                OriginKeepaliveTimeout: 60,
              }),
            }),
          ],
          // The ACL's ARN comes from us-east-1 through CDK's cross-region export reader.
          WebACLId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ExportsReader'), Match.stringLikeRegexp('WebAclArn')] },
        }),
      });
    });

    it('adds the origin header from a Secrets Manager dynamic reference, never a plain value', () => {
      const [distribution] = Object.values(prod.findResources('AWS::CloudFront::Distribution')) as [
        { Properties: { DistributionConfig: { Origins: { OriginCustomHeaders: unknown[] }[] } } },
      ];
      expect(distribution.Properties.DistributionConfig.Origins[0]?.OriginCustomHeaders).toEqual([
        {
          HeaderName: 'x-tollgate-origin-verify',
          HeaderValue: {
            'Fn::Join': [
              '',
              ['{{resolve:secretsmanager:', { Ref: expect.stringMatching(/^EdgeOriginSecret/) }, ':SecretString:::}}'],
            ],
          },
        },
      ]);
    });

    it('stops waiting on a silent upstream 5 s before CloudFront stops waiting on the proxy', () => {
      prod.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            TOLLGATE_UPSTREAM_IDLE_TIMEOUT: '55',
            TOLLGATE_UPSTREAM_HEADERS_TIMEOUT: '55',
          }),
        },
      });
    });

    it("outputs CloudFront's URL as ProxyUrl and the function URL as OriginUrl", () => {
      prod.hasOutput('ProxyUrl', {
        Value: {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^EdgeDistribution'), 'DomainName'] }, '/'],
          ],
        },
      });
      prod.hasOutput('OriginUrl', { Value: functionUrl });
    });
  });

  describe('secrets in the templates', () => {
    it('puts no secret value and no reference to one in any Output or Parameter', () => {
      for (const template of [dev, prod, shield]) {
        const json = template.toJSON() as { Outputs?: unknown; Parameters?: Record<string, unknown> };
        expect(JSON.stringify(json.Outputs ?? {})).not.toMatch(/resolve:secretsmanager|OriginSecret|SecretString/);
        expect(Object.keys(json.Parameters ?? {})).toEqual(['BootstrapVersion']);
      }
    });

    it('holds no generated value anywhere in the templates: only a {{resolve:…}} reference', () => {
      const secret = Object.values(prod.findResources('AWS::SecretsManager::Secret'))[0] as {
        Properties: Record<string, unknown>;
      };
      expect(secret.Properties).not.toHaveProperty('SecretString');
      const resources = prod.toJSON()['Resources'] as Resources;
      const mentions = Object.entries(resources).filter(([, r]) =>
        JSON.stringify(r).includes('x-tollgate-origin-verify'),
      );
      expect(mentions.map(([, r]) => r.Type)).toEqual(['AWS::CloudFront::Distribution']);
    });
  });

  describe('context', () => {
    it('turns the shield off for prod with shield=false, and on for dev with shield=true', () => {
      const off = tollgateApp(['prod'], { ...NO_BUNDLING, shield: 'false' });
      expect(off.shields).toEqual([]);
      Template.fromStack(off.stacks[0] as TollgateStack).resourceCountIs('AWS::CloudFront::Distribution', 0);
      const on = tollgateApp(['dev'], { ...NO_BUNDLING, shield: 'true' });
      expect(on.shields.map((s) => s.stackName)).toEqual(['Tollgate-dev-Shield']);
    });

    it('takes the rate limit from shieldRateLimit and the origin timeout from originReadTimeout', () => {
      const { stacks, shields } = tollgateApp(['prod'], {
        ...NO_BUNDLING,
        shieldRateLimit: '500',
        originReadTimeout: '120',
      });
      Template.fromStack(shields[0] as NonNullable<(typeof shields)[0]>).hasResourceProperties('AWS::WAFv2::WebACL', {
        Rules: Match.arrayWith([
          Match.objectLike({
            Name: 'RateLimitPerIp',
            Statement: { RateBasedStatement: Match.objectLike({ Limit: 500 }) },
          }),
        ]),
      });
      const template = Template.fromStack(stacks[0] as TollgateStack);
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({
          Origins: [Match.objectLike({ CustomOriginConfig: Match.objectLike({ OriginReadTimeout: 120 }) })],
        }),
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TOLLGATE_UPSTREAM_IDLE_TIMEOUT: '115' }) },
      });
    });

    it('refuses values CloudFront or WAF would refuse at deploy time', () => {
      expect(() => tollgateApp(['prod'], { ...NO_BUNDLING, originReadTimeout: '300' })).toThrow(/originReadTimeout/);
      expect(() => tollgateApp(['prod'], { ...NO_BUNDLING, shieldRateLimit: '5' })).toThrow(/shieldRateLimit/);
    });

    it("needs the gateway's region at synth when the shield is on", () => {
      expect(() => addTollgate(new App({ context: NO_BUNDLING }), 'prod')).toThrow(/needs the gateway's region/);
    });

    it('uses a plain export, no cross-region reader, when the gateway itself runs in us-east-1', () => {
      const { stacks } = tollgateApp(['prod'], NO_BUNDLING, { region: 'us-east-1' });
      const template = Template.fromStack(stacks[0] as TollgateStack);
      template.resourceCountIs('Custom::CrossRegionExportReader', 0);
      template.hasResourceProperties('AWS::CloudFront::Distribution', {
        DistributionConfig: Match.objectLike({ WebACLId: { 'Fn::ImportValue': Match.anyValue() } }),
      });
    });
  });
});
