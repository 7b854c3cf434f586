import { type App, Duration, type Environment } from 'aws-cdk-lib';
import { contextBoolean, contextNumber } from './context.ts';
import { SHIELD_REGION, TollgateShieldStack } from './tollgate-shield.ts';
import { TollgateStack } from './tollgate-stack.ts';

export interface TollgateStacks {
  /** `Tollgate-<stage>`: the gateway. */
  readonly stack: TollgateStack;
  /** `Tollgate-<stage>-Shield`: the WAF web ACL in us-east-1, when the shield is on. */
  readonly shield?: TollgateShieldStack;
}

/**
 * One stage of Tollgate in an app: the gateway's stack and, when the shield is on, the WAF web ACL's
 * stack in us-east-1 (WAF for CloudFront exists there only; the gateway may run in any region).
 *
 * Context: `shield` (on for `prod`, off otherwise), `shieldRateLimit` (requests per IP per 5 minutes,
 * default 2000), `originReadTimeout` (seconds, default 60; up to 180 after a CloudFront quota increase).
 * With the shield on, the gateway's region must be known at synth (`npx cdk` passes the profile's as
 * `CDK_DEFAULT_REGION`), since CDK carries the ACL's ARN from us-east-1 through SSM parameters.
 *
 * @example
 * addTollgate(app, 'prod', { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION });
 */
export const addTollgate = (app: App, stage: string, env: Environment = {}): TollgateStacks => {
  const shieldOn = contextBoolean(app, 'shield') ?? stage === 'prod';
  if (!shieldOn) return { stack: new TollgateStack(app, `Tollgate-${stage}`, { stage }) };

  if (env.region === undefined) {
    throw new Error(
      `The shield of stage '${stage}' needs the gateway's region at synth: run through npx cdk with a profile ` +
        'or AWS_REGION set, or turn the shield off with -c shield=false',
    );
  }
  const account = env.account === undefined ? {} : { account: env.account };
  const readTimeout = contextNumber(app, 'originReadTimeout');
  const rateLimit = contextNumber(app, 'shieldRateLimit');
  const shield = new TollgateShieldStack(app, `Tollgate-${stage}-Shield`, {
    stage,
    env: { ...account, region: SHIELD_REGION },
    crossRegionReferences: true,
    ...(rateLimit !== undefined && { rateLimit }),
  });
  const stack = new TollgateStack(app, `Tollgate-${stage}`, {
    stage,
    env: { ...account, region: env.region },
    crossRegionReferences: true,
    shield: {
      webAclArn: shield.webAcl.attrArn,
      ...(readTimeout !== undefined && { readTimeout: Duration.seconds(readTimeout) }),
    },
  });
  return { stack, shield };
};
