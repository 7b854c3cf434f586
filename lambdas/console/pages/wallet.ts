import { getAccount } from '../../services/accounts.ts';
import { listKeys } from '../../services/keys.ts';
import { listUsage } from '../../services/usage.ts';
import { html } from '../html.ts';
import { htmlPage } from '../http.ts';
import { type Route, signedIn } from '../route.ts';
import { WalletPage } from '../views/wallet.ts';

const PAGE_ROWS = 50;

/** The wallet page: balance, credit limit, discount, and the ledger newest first. */
export const WALLET_ROUTES: readonly Route[] = [
  signedIn('GET', /^\/wallet$/, async ({ request, deps, session }) => {
    const accountId = session.accountId;
    const cursor = request.query.get('cursor');
    const [wallet, usage, keys] = await Promise.all([
      getAccount(deps.stores, { accountId }),
      listUsage(deps.stores, { accountId, limit: PAGE_ROWS, ...(cursor && { cursor }) }),
      listKeys(deps.stores, { accountId }),
    ]);
    const keyNames = new Map(keys.keys.map((key) => [key.keyId, key.name ?? key.prefix]));
    return htmlPage(
      200,
      html`<${WalletPage} session=${session} wallet=${wallet} ledger=${usage.ledger} keyNames=${keyNames} />`,
    );
  }),
];
