import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';

/** Where a WebACL for CloudFront must live: WAF's CLOUDFRONT scope exists in us-east-1 only. */
export const SHIELD_REGION = 'us-east-1';

/** Requests per client IP per 5 minutes before the rate rule blocks that IP (about 6.7 per second). */
export const DEFAULT_RATE_LIMIT = 2000;

/**
 * Rules of the managed groups that inspect the request body, set to count instead of block. A
 * gateway's bodies are prompts: code, HTML, file paths and URLs that users ask a model about.
 * `SizeRestrictions_BODY` blocks any body over 8 KB; the others match `<script>`, `../`, `http://`,
 * `169.254.169.254` or `${jndi:` in a prompt. They still count (visible in WAF's metrics and sampled
 * requests), and every header, URI and query-string rule of the groups still blocks.
 */
export const BODY_RULES_COUNTED = {
  AWSManagedRulesCommonRuleSet: [
    'SizeRestrictions_BODY',
    'CrossSiteScripting_BODY',
    'GenericLFI_BODY',
    'GenericRFI_BODY',
    'EC2MetaDataSSRF_BODY',
  ],
  AWSManagedRulesKnownBadInputsRuleSet: ['Log4JRCE_BODY', 'JavaDeserializationRCE_BODY'],
} as const;

export interface TollgateShieldStackProps extends StackProps {
  readonly stage: string;
  /** Requests per client IP per 5-minute window. @default DEFAULT_RATE_LIMIT */
  readonly rateLimit?: number;
}

const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const managedGroup = (
  name: 'AWSManagedRulesAmazonIpReputationList' | keyof typeof BODY_RULES_COUNTED,
  priority: number,
): CfnWebACL.RuleProperty => {
  const counted: readonly string[] = name === 'AWSManagedRulesAmazonIpReputationList' ? [] : BODY_RULES_COUNTED[name];
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name,
        ...(counted.length > 0 && {
          ruleActionOverrides: counted.map((rule) => ({ name: rule, actionToUse: { count: {} } })),
        }),
      },
    },
    visibilityConfig: visibility(name),
  };
};

/**
 * The WAF web ACL in front of Tollgate's CloudFront distribution: `Tollgate-<stage>-Shield`, always in
 * us-east-1 (WAF for CloudFront exists there only), whatever region the gateway runs in. The gateway's
 * stack references the ACL's ARN; CDK carries it across regions (`crossRegionReferences`).
 *
 * Rules, in order: Amazon's IP reputation list; a rate limit per client IP; the known-bad-inputs and
 * common rule sets, with their body rules counting instead of blocking (see {@link BODY_RULES_COUNTED}).
 * No rule of Tollgate's own inspects the body, so WAF's 16 KB body-inspection limit for CloudFront
 * never blocks a large request.
 *
 * @example
 * const shield = new TollgateShieldStack(app, 'Tollgate-prod-Shield', { stage: 'prod', env: { region: 'us-east-1' } });
 */
export class TollgateShieldStack extends Stack {
  readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: TollgateShieldStackProps) {
    super(scope, id, props);
    const rateLimit = props.rateLimit ?? DEFAULT_RATE_LIMIT;
    if (!(Number.isInteger(rateLimit) && rateLimit >= 10 && rateLimit <= 2_000_000_000)) {
      throw new Error(`shieldRateLimit must be an integer from 10 to 2,000,000,000 requests, got ${rateLimit}`);
    }
    const prefix = `Tollgate-${props.stage}`;
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name: `${prefix}-Shield`,
      description: `Tollgate ${props.stage}: rate limit per IP and AWS managed rules in front of the gateway`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${prefix}-Shield`),
      rules: [
        managedGroup('AWSManagedRulesAmazonIpReputationList', 0),
        {
          name: 'RateLimitPerIp',
          priority: 1,
          action: { block: {} },
          statement: {
            rateBasedStatement: { limit: rateLimit, evaluationWindowSec: 300, aggregateKeyType: 'IP' },
          },
          visibilityConfig: visibility('RateLimitPerIp'),
        },
        managedGroup('AWSManagedRulesKnownBadInputsRuleSet', 2),
        managedGroup('AWSManagedRulesCommonRuleSet', 3),
      ],
    });
    new CfnOutput(this, 'WebAclArn', { value: this.webAcl.attrArn, description: 'The WAF web ACL of the gateway' });
  }
}
