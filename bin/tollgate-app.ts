import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { contextString } from '../lib/context.ts';
import { TollgateStack } from '../lib/tollgate-stack.ts';

// npx cdk synth -c stage=prod   (stage defaults to dev; see lib/tollgate-stack.ts for the other context keys)
const app = new App();
const stage = contextString(app, 'stage') ?? 'dev';
new TollgateStack(app, `Tollgate-${stage}`, { stage });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
