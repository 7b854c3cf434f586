import { ALERT_ROUTES } from './pages/alert.ts';
import { CHECKOUT_ROUTES, WEBHOOK_ROUTES } from './pages/checkout.ts';
import { KEYS_ROUTES } from './pages/keys.ts';
import { MODELS_ROUTES } from './pages/models.ts';
import { REDEEM_ROUTES } from './pages/redeem.ts';
import { SIGN_IN_ROUTES } from './pages/sign-in.ts';
import { WALLET_ROUTES } from './pages/wallet.ts';
import type { Route, WebhookRoute } from './route.ts';

export type { RouteContext } from './route.ts';

/** Every console route, tried in order. */
export const ROUTES: readonly Route[] = [
  ...SIGN_IN_ROUTES,
  ...WALLET_ROUTES,
  ...REDEEM_ROUTES,
  ...ALERT_ROUTES,
  ...CHECKOUT_ROUTES,
  ...KEYS_ROUTES,
  ...MODELS_ROUTES,
];

/** Webhooks: POSTs from other services, given the raw body, before any session or form handling. */
export const WEBHOOKS: readonly WebhookRoute[] = [...WEBHOOK_ROUTES];
