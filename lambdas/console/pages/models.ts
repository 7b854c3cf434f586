import { accountModels } from '../../services/models.ts';
import { html } from '../html.ts';
import { htmlPage } from '../http.ts';
import { type Route, signedIn } from '../route.ts';
import { ModelsPage } from '../views/models.ts';

/** The Models page: every routed model with its protocols, fallbacks and this account's prices. */
export const MODELS_ROUTES: readonly Route[] = [
  signedIn('GET', /^\/models$/, async ({ deps, session }) => {
    const models = await accountModels(deps.stores, { accountId: session.accountId });
    return htmlPage(200, html`<${ModelsPage} session=${session} models=${models} />`);
  }),
];
