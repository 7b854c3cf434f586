import type { KeyLimitState } from '../../gateway/key-budget.ts';
import { formatUsd } from '../../gateway/money.ts';
import { InvalidInputError, NotFoundError } from '../../services/errors.ts';
import {
  createKey,
  getKey,
  type KeySummary,
  type KeyUpdate,
  keyLimits,
  listKeys,
  type NewKey,
  revokeKey,
  updateKey,
} from '../../services/keys.ts';
import { keyActivity, spendByDay } from '../../services/spend.ts';
import { parseAmount, parsePositiveInteger } from '../../services/validate.ts';
import { LIMIT_RESETS, type LimitReset, MAX_BALANCE_NANO } from '../../vocabulary.ts';
import { html } from '../html.ts';
import { consolePath, htmlPage, redirect } from '../http.ts';
import { type Route, type SignedInContext, signedIn } from '../route.ts';
import {
  type EditKeyForm,
  EditKeyPage,
  EMPTY_NEW_KEY_FORM,
  KeyCreatedPage,
  type KeyLimitView,
  type KeysActivity,
  KeysPage,
  type ModelChoice,
  type NewKeyForm,
  RevokeKeyPage,
} from '../views/keys.ts';
import { MessagePage } from '../views/layout.ts';

/** Key ids as mintKey makes them: anything else in a URL is not a page. */
const KEY_ID = '(?<keyId>key_[0-9a-f]{1,64})';
/** Days of spend roll-ups read for "last used" (at least a month, so "this month" is whole). */
const ACTIVITY_DAYS = 30;
const DAY_MS = 86_400_000;

const serviceDeps = ({ deps }: SignedInContext) => ({ ...deps.stores, ...(deps.now && { now: deps.now }) });

const routedModels = async (context: SignedInContext): Promise<ModelChoice[]> =>
  (await context.deps.stores.routes.list())
    .map((route) => ({ model: route.model, provider: route.provider }))
    .sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));

/** The last {@link ACTIVITY_DAYS} days (and the whole current month) of the account's spend, per key. */
const activityOf = async (context: SignedInContext): Promise<KeysActivity> => {
  const deps = serviceDeps(context);
  const now = deps.now?.() ?? new Date();
  const to = now.toISOString().slice(0, 10);
  const monthStart = `${to.slice(0, 7)}-01`;
  const windowStart = new Date(now.getTime() - (ACTIVITY_DAYS - 1) * DAY_MS).toISOString().slice(0, 10);
  const from = monthStart < windowStart ? monthStart : windowStart;
  const days = await spendByDay(deps, { accountId: context.session.accountId, from, to });
  const byKey = new Map(
    keyActivity(days, { month: to.slice(0, 7) }).map((use) => [
      use.key_id,
      { lastAt: use.last_at, monthCostUsd: use.month_cost_usd, monthRequests: use.month_requests },
    ]),
  );
  return { days: days.length, byKey };
};

/** The key's limit in its current period, as the edit form shows it; undefined for a key without one. */
const limitOf = async (context: SignedInContext, key: KeySummary): Promise<KeyLimitView | undefined> => {
  const state = (await keyLimits(serviceDeps(context), [key])).get(key.keyId);
  return state === undefined ? undefined : limitView(state);
};

const keyNotFound = (context: SignedInContext) =>
  htmlPage(
    404,
    html`<${MessagePage} title="Key not found" session=${context.session} kind="error">
      This account has no such key. <a href=${consolePath('/keys')}>Back to the keys</a>.
    <//>`,
  );

/** The account's key with the id in the URL, or undefined (another account's key is not found either). */
const ownKey = async (context: SignedInContext): Promise<KeySummary | undefined> => {
  try {
    return await getKey(serviceDeps(context), {
      keyId: context.params['keyId'] ?? '',
      accountId: context.session.accountId,
    });
  } catch (error) {
    if (error instanceof NotFoundError || error instanceof InvalidInputError) return undefined;
    throw error;
  }
};

const optionalCount = (text: string, what: string): number | undefined =>
  text.trim() === '' ? undefined : parsePositiveInteger(text, what);

/** The routed models picked in a form; a model no route serves is refused, unless the key already has it. */
const pickedModels = (picked: readonly string[], models: readonly ModelChoice[], kept: readonly string[] = []) => {
  const unknown = picked.find((model) => !models.some((choice) => choice.model === model) && !kept.includes(model));
  if (unknown !== undefined) throw new InvalidInputError(`Unknown model '${unknown}': pick one of the routed models`);
  return picked;
};

/** The spend limit typed in a form (exact USD, as the wallet's alert form reads it); undefined when left empty. */
const spendLimitOf = (values: Pick<NewKeyForm, 'spendLimit' | 'limitReset'>) => {
  const text = values.spendLimit.trim();
  if (text === '') return undefined;
  const spendLimit = parseAmount(text, 'spend limit', { positive: true, max: MAX_BALANCE_NANO });
  if (!(LIMIT_RESETS as readonly string[]).includes(values.limitReset)) {
    throw new InvalidInputError('Invalid reset: choose Never, Daily, Weekly or Monthly');
  }
  return { spendLimit, limitReset: values.limitReset as LimitReset };
};

/** A key's limit as the list shows it: exact USD, the share used and how near the limit it is. */
const limitView = (state: KeyLimitState): KeyLimitView => {
  const limit = BigInt(state.limit);
  const used = BigInt(state.spent) + BigInt(state.held);
  return {
    reset: state.period.reset,
    spentUsd: formatUsd(state.spent),
    heldUsd: state.held > 0 ? formatUsd(state.held) : undefined,
    limitUsd: formatUsd(state.limit),
    resetsAt: state.period.endsAt,
    usedPermille: used >= limit ? 1000 : Number((used * 1000n) / limit),
    level: state.remaining <= 0 ? 'reached' : used * 10n >= limit * 9n ? 'warn' : 'ok',
  };
};

const newKeyForm = (form: URLSearchParams): NewKeyForm => ({
  name: form.get('name') ?? '',
  models: form.getAll('models'),
  rpm: form.get('rpm') ?? '',
  tpm: form.get('tpm') ?? '',
  expires: form.get('expires') ?? '',
  spendLimit: (form.get('spend_limit') ?? '').slice(0, 40),
  limitReset: form.get('limit_reset') ?? 'never',
});

const editKeyForm = (form: URLSearchParams): EditKeyForm => ({
  ...newKeyForm(form),
  modelsMode: form.get('models_mode') === 'some' ? 'some' : 'all',
  expiryMode: form.get('expiry_mode') === 'date' ? 'date' : 'never',
});

const editFormOf = (key: KeySummary): EditKeyForm => ({
  name: key.name ?? '',
  models: key.models ?? [],
  rpm: key.rpm === undefined ? '' : String(key.rpm),
  tpm: key.tpm === undefined ? '' : String(key.tpm),
  expires: key.expiresAt?.slice(0, 10) ?? '',
  modelsMode: key.models ? 'some' : 'all',
  expiryMode: key.expiresAt ? 'date' : 'never',
  spendLimit: key.spendLimit === undefined ? '' : formatUsd(key.spendLimit),
  limitReset: key.limitReset ?? 'never',
});

/** The edit form as a {@link KeyUpdate}: every field replaced, but an expiry left as it was is not re-checked. */
const keyUpdate = (key: KeySummary, values: EditKeyForm, models: readonly ModelChoice[]): KeyUpdate => {
  const update: KeyUpdate = { keyId: key.keyId, name: values.name };
  if (values.modelsMode === 'all') update.models = null;
  else if (values.models.length === 0) throw new InvalidInputError('Select at least one model, or choose All models');
  else update.models = pickedModels(values.models, models, key.models);
  update.rpm = optionalCount(values.rpm, 'requests per minute (rpm)') ?? null;
  update.tpm = optionalCount(values.tpm, 'tokens per minute (tpm)') ?? null;
  if (values.expiryMode === 'never') {
    if (key.expiresAt !== undefined) update.expiresAt = null;
  } else if (values.expires.trim() === '') {
    throw new InvalidInputError('Give the expiry date, or choose Never expires');
  } else if (values.expires.trim() !== key.expiresAt?.slice(0, 10)) {
    update.expiresAt = values.expires.trim();
  }
  // An emptied limit is removed (with its reset); a key without one keeps having none.
  const limit = spendLimitOf(values);
  if (limit !== undefined) Object.assign(update, limit);
  else if (key.spendLimit !== undefined) update.spendLimit = null;
  return update;
};

const keysPage = async (
  context: SignedInContext,
  status: number,
  extra: { form?: NewKeyForm; error?: string; notice?: { kind: 'revoked' | 'updated'; keyId: string } } = {},
) => {
  const [{ keys, limits }, models, activity] = await Promise.all([
    listKeys(serviceDeps(context), { accountId: context.session.accountId }).then(async ({ keys }) => ({
      keys,
      limits: await keyLimits(serviceDeps(context), keys),
    })),
    routedModels(context),
    activityOf(context),
  ]);
  const noticed = extra.notice && keys.find((key) => key.keyId === extra.notice?.keyId);
  return htmlPage(
    status,
    html`<${KeysPage}
      session=${context.session}
      gatewayUrl=${context.gatewayUrl}
      keys=${keys}
      models=${models}
      activity=${activity}
      limits=${new Map([...limits].map(([keyId, state]) => [keyId, limitView(state)]))}
      form=${extra.form ?? EMPTY_NEW_KEY_FORM}
      error=${extra.error}
      notice=${noticed && extra.notice ? { kind: extra.notice.kind, key: noticed } : undefined}
    />`,
  );
};

const noticeOf = (query: URLSearchParams): { kind: 'revoked' | 'updated'; keyId: string } | undefined => {
  for (const kind of ['revoked', 'updated'] as const) {
    const keyId = query.get(kind);
    if (keyId) return { kind, keyId };
  }
  return undefined;
};

/**
 * The API Keys page: the account's keys with their last use, this month's spend and their spend
 * against their own limit (what a 402 "Key limit reached" sends its user here to raise); create (the
 * secret shown once, with client settings), edit, and revoke after a confirmation. Every key id
 * comes with the session's account to the keys service, which refuses another account's key.
 */
export const KEYS_ROUTES: readonly Route[] = [
  signedIn('GET', /^\/keys$/, async (context) => {
    const notice = noticeOf(context.request.query);
    return keysPage(context, 200, notice ? { notice } : {});
  }),

  signedIn('POST', /^\/keys$/, async (context) => {
    const form = newKeyForm(context.request.form);
    const models = await routedModels(context);
    try {
      const input: NewKey = { accountId: context.session.accountId, name: form.name };
      const picked = pickedModels(form.models, models);
      if (picked.length > 0) input.models = picked;
      const rpm = optionalCount(form.rpm, 'requests per minute (rpm)');
      const tpm = optionalCount(form.tpm, 'tokens per minute (tpm)');
      if (rpm !== undefined) input.rpm = rpm;
      if (tpm !== undefined) input.tpm = tpm;
      if (form.expires.trim() !== '') input.expiresAt = form.expires.trim();
      const limit = spendLimitOf(form);
      if (limit !== undefined) Object.assign(input, limit);
      const created = await createKey(serviceDeps(context), input);
      const spendLimit =
        created.spendLimit === undefined
          ? undefined
          : { limitUsd: formatUsd(created.spendLimit), reset: created.limitReset ?? 'never' };
      return htmlPage(
        200,
        html`<${KeyCreatedPage}
          session=${context.session}
          gatewayUrl=${context.gatewayUrl}
          created=${created}
          models=${models}
          spendLimit=${spendLimit}
        />`,
      );
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return keysPage(context, 400, { form, error: error.message });
    }
  }),

  signedIn('GET', new RegExp(`^/keys/${KEY_ID}$`), async (context) => {
    const key = await ownKey(context);
    if (!key) return keyNotFound(context);
    const [models, limit] = await Promise.all([routedModels(context), limitOf(context, key)]);
    return htmlPage(
      200,
      html`<${EditKeyPage} session=${context.session} item=${key} models=${models} values=${editFormOf(key)} limit=${limit} />`,
    );
  }),

  signedIn('POST', new RegExp(`^/keys/${KEY_ID}$`), async (context) => {
    const key = await ownKey(context);
    if (!key) return keyNotFound(context);
    const models = await routedModels(context);
    const values = editKeyForm(context.request.form);
    try {
      await updateKey(serviceDeps(context), {
        ...keyUpdate(key, values, models),
        accountId: context.session.accountId,
      });
    } catch (error) {
      if (error instanceof NotFoundError) return keyNotFound(context);
      if (!(error instanceof InvalidInputError)) throw error;
      const limit = await limitOf(context, key);
      return htmlPage(
        400,
        html`<${EditKeyPage}
          session=${context.session}
          item=${key}
          models=${models}
          values=${values}
          limit=${limit}
          error=${error.message}
        />`,
      );
    }
    return redirect(consolePath('/keys', { updated: key.keyId }));
  }),

  signedIn('GET', new RegExp(`^/keys/${KEY_ID}/revoke$`), async (context) => {
    const key = await ownKey(context);
    if (!key) return keyNotFound(context);
    return htmlPage(200, html`<${RevokeKeyPage} session=${context.session} item=${key} />`);
  }),

  signedIn('POST', new RegExp(`^/keys/${KEY_ID}/revoke$`), async (context) => {
    const keyId = context.params['keyId'] ?? '';
    try {
      await revokeKey(serviceDeps(context), { keyId, accountId: context.session.accountId });
    } catch (error) {
      if (error instanceof NotFoundError) return keyNotFound(context);
      throw error;
    }
    return redirect(consolePath('/keys', { revoked: keyId }));
  }),
];
