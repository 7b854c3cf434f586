import { App, type Environment, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addTollgate } from '../../lib/tollgate-app.ts';
import type { TollgateShieldStack } from '../../lib/tollgate-shield.ts';
import type { TollgateStack } from '../../lib/tollgate-stack.ts';

// Synthesis errors carry the whole report instead of depending on NODE_ENV to pick the mode.
export const IN_MEMORY = { '@aws-cdk/core:appMode': 'inmemory' };
// Skips esbuild for apps that only check configuration.
export const NO_BUNDLING = { ...IN_MEMORY, 'aws:cdk:bundling-stacks': [] };

/** The gateway's region in tests: not us-east-1, so the shield's web ACL is a cross-region reference. */
export const TEST_ENV: Environment = { account: '123456789012', region: 'eu-west-1' };

/**
 * The app `bin/tollgate-app.ts` builds, for the given stages, with the cdk-nag plugin registered:
 * `stacks` are the gateways, `shields` the web ACL stacks of the stages whose shield is on.
 */
export const tollgateApp = (stages: string[], context: Record<string, unknown> = {}, env: Environment = TEST_ENV) => {
  const app = new App({ context: { ...IN_MEMORY, ...context } });
  const built = stages.map((stage) => addTollgate(app, stage, env));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stacks: TollgateStack[] = built.map((b) => b.stack);
  const shields = built.flatMap((b): TollgateShieldStack[] => (b.shield ? [b.shield] : []));
  return { app, stacks, shields };
};

export type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

type PolicyResource = { Properties: { PolicyDocument: { Statement: Statement[] }; Roles: unknown[] } };

/** The statements of the inline policies on the execution role of one function (`Proxy`, `Sweeper`). */
export const roleStatements = (template: Template, functionId: string): Statement[] =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .map((policy) => policy as PolicyResource)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${functionId}ServiceRole`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
