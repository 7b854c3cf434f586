import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { contextString } from '../lib/context.ts';
import { addTollgate } from '../lib/tollgate-app.ts';

// npx cdk synth -c stage=prod   (stage defaults to dev; see lib/tollgate-app.ts and lib/tollgate-stack.ts for the other context keys)
const app = new App();
const stage = contextString(app, 'stage') ?? 'dev';
const { CDK_DEFAULT_ACCOUNT: account, CDK_DEFAULT_REGION: region } = process.env;
addTollgate(app, stage, { ...(account && { account }), ...(region && { region }) });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
