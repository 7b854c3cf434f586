import { KEYS_ROUTES } from './pages/keys.ts';
import { MODELS_ROUTES } from './pages/models.ts';
import { SIGN_IN_ROUTES } from './pages/sign-in.ts';
import { WALLET_ROUTES } from './pages/wallet.ts';
import type { Route } from './route.ts';

export type { RouteContext } from './route.ts';

/** Every console route, tried in order. */
export const ROUTES: readonly Route[] = [...SIGN_IN_ROUTES, ...WALLET_ROUTES, ...KEYS_ROUTES, ...MODELS_ROUTES];
