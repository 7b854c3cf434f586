import { App, Validations } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { TollgateStack } from '../../lib/tollgate-stack.ts';

// Synthesis errors carry the whole report instead of depending on NODE_ENV to pick the mode.
export const IN_MEMORY = { '@aws-cdk/core:appMode': 'inmemory' };
// Skips esbuild for apps that only check configuration.
export const NO_BUNDLING = { ...IN_MEMORY, 'aws:cdk:bundling-stacks': [] };

/** The app `bin/tollgate-app.ts` builds, for the given stages, with the cdk-nag plugin registered. */
export const tollgateApp = (stages: string[], context: Record<string, unknown> = {}) => {
  const app = new App({ context: { ...IN_MEMORY, ...context } });
  const stacks = stages.map((stage) => new TollgateStack(app, `Tollgate-${stage}`, { stage }));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stacks };
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
