import type { KeyCreated, KeySummary } from '../../services/keys.ts';
import type { LimitReset } from '../../vocabulary.ts';
import { html, type VNode } from '../html.ts';
import { consolePath } from '../http.ts';
import type { Session } from '../session.ts';
import { CsrfField, Layout, Notice } from './layout.ts';
import { count, Time, Usd } from './money.ts';

/** A routed model as the key forms offer it. */
export interface ModelChoice {
  model: string;
  provider: string;
}

/** What the API Keys page shows of a key's use, from the daily spend roll-ups. */
export interface KeyUse {
  /** The key's latest request in the window; absent: none in it. */
  lastAt?: string;
  monthCostUsd: string;
  monthRequests: number;
}

/** Spend and last use per key id, over the last `days` days; undefined when not known. */
export interface KeysActivity {
  days: number;
  byKey: ReadonlyMap<string, KeyUse>;
}

/** A key's spend limit in its current period, as the API Keys list shows it (USD as formatUsd writes it). */
export interface KeyLimitView {
  reset: LimitReset;
  /** Settled spend of the period. */
  spentUsd: string;
  /** Open holds of the period; absent when none. */
  heldUsd?: string | undefined;
  limitUsd: string;
  /** When the next period starts (ISO instant); absent for `never`. */
  resetsAt?: string | undefined;
  /** (spent + held) / limit in thousandths, 0-1000. */
  usedPermille: number;
  /** `warn` from 90% used; `reached` when nothing remains. */
  level: 'ok' | 'warn' | 'reached';
}

/** The create form as typed (kept on a validation error). */
export interface NewKeyForm {
  name: string;
  models: readonly string[];
  rpm: string;
  tpm: string;
  expires: string;
  /** USD; empty: no spend limit. */
  spendLimit: string;
  /** A {@link LimitReset} as the select sent it. */
  limitReset: string;
}

export const EMPTY_NEW_KEY_FORM: NewKeyForm = {
  name: '',
  models: [],
  rpm: '',
  tpm: '',
  expires: '',
  spendLimit: '',
  limitReset: 'never',
};

/** The edit form as typed; `models` applies when `modelsMode` is 'some', `expires` when `expiryMode` is 'date'. */
export interface EditKeyForm extends NewKeyForm {
  modelsMode: 'all' | 'some';
  expiryMode: 'never' | 'date';
}

/** A placeholder that stands for the secret in the settings shown before one is created. */
export const PLACEHOLDER_KEY = 'sk-…';

const keyLabel = (key: Pick<KeySummary, 'name' | 'prefix'>): string => key.name ?? `${key.prefix}…`;

const STATUS_TAG: Record<KeySummary['status'], string> = {
  active: 'tag good',
  expired: 'tag warn',
  revoked: 'tag bad',
};

const rate = (value: number | undefined): string => (value === undefined ? 'no limit' : count(value));

/** How the list words each period: "$12.02 of $20.00 this month". */
const PERIOD_WORDS: Record<LimitReset, string> = {
  daily: 'today',
  weekly: 'this week',
  monthly: 'this month',
  never: 'in all',
};

/** "$20.00 per month", as the gateway's key-limit message words it. */
const LIMIT_PER: Record<LimitReset, string> = {
  daily: 'per day (UTC)',
  weekly: 'per week (from Monday, UTC)',
  monthly: 'per month (UTC)',
  never: 'in all',
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An ISO instant as "Jan 1, 00:00 UTC", in a <time> element. */
const ResetTime = ({ at }: { at: string }): VNode => {
  const month = MONTHS[Number(at.slice(5, 7)) - 1] ?? at.slice(5, 7);
  return html`<time datetime=${at}>${month} ${Number(at.slice(8, 10))}, ${at.slice(11, 16)} UTC</time>`;
};

/** A time as {@link Time} writes it, wrapping (in a narrow column) only between the date and the clock. */
const Stamp = ({ at }: { at: string }): VNode => {
  const [day = '', clock = ''] = at.replace(/\.\d+Z$|Z$/, '').split('T');
  return html`<time datetime=${at} class="stamp"><span>${day}</span> <span>${clock}</span></time>`;
};

/** Spend this period against the key's limit, with a bar; "No limit" for a key without one. */
const LimitCell = ({ item, limit }: { item: KeySummary; limit: KeyLimitView | undefined }): VNode => {
  if (limit === undefined) {
    return html`<td class="limit" data-label="Spend limit"><span class="muted">${item.spendLimit === undefined ? 'No limit' : '—'}</span></td>`;
  }
  return html`<td class="limit" data-label="Spend limit" data-limit=${limit.level}>
    <div class="limit-figures">
      <${Usd} value=${limit.spentUsd} /> of <${Usd} value=${limit.limitUsd} /> ${PERIOD_WORDS[limit.reset]}
    </div>
    ${limit.heldUsd === undefined ? null : html`<div class="muted small">+ <${Usd} value=${limit.heldUsd} /> held</div>`}
    <meter
      class=${`limit-meter ${limit.level}`}
      min="0"
      max="1000"
      value=${limit.usedPermille}
      aria-label=${`${keyLabel(item)}: share of the spend limit used`}
    ></meter>
    ${limit.level === 'reached' ? html`<div class="limit-reached">Limit reached</div>` : null}
    ${limit.resetsAt === undefined ? null : html`<div class="muted small">resets <${ResetTime} at=${limit.resetsAt} /></div>`}
  </td>`;
};

const KeyRow = ({
  item,
  activity,
  limit,
}: {
  item: KeySummary;
  activity: KeysActivity | undefined;
  limit: KeyLimitView | undefined;
}): VNode => {
  const use = activity?.byKey.get(item.keyId);
  return html`<tr data-key-id=${item.keyId}>
    <td class="name key-name">${item.name ?? html`<span class="muted">(no name)</span>`}</td>
    <td data-label="Key"><code>${item.prefix}…</code></td>
    <td data-label="Created (UTC)"><${Stamp} at=${item.createdAt} /></td>
    <td data-label="Last used">
      ${
        activity === undefined
          ? '—'
          : use?.lastAt
            ? html`<${Stamp} at=${use.lastAt} />`
            : html`<span class="muted">not in the last ${activity.days} days</span>`
      }
    </td>
    <td data-label="Status"><span class=${STATUS_TAG[item.status]}>${item.status}</span></td>
    <td class="name" data-label="Models">${item.models ? item.models.join(', ') : html`<span class="muted">all models</span>`}</td>
    <td class="num" data-label="Rate limits">${rate(item.rpm)} rpm<br />${rate(item.tpm)} tpm</td>
    <td data-label="Expires">${item.expiresAt ? html`<${Time} at=${item.expiresAt} />` : html`<span class="muted">never</span>`}</td>
    <td class="num" data-label="Spend this month">
      ${activity === undefined ? '—' : html`<${Usd} value=${use?.monthCostUsd ?? '0.00'} />`}
      ${use && use.monthRequests > 0 ? html`<div class="muted small">${count(use.monthRequests)} requests</div>` : null}
    </td>
    <${LimitCell} item=${item} limit=${limit} />
    <td class="key-actions">
      <div class="actions">
        <a href=${consolePath(`/keys/${item.keyId}`)} aria-label=${`Edit ${keyLabel(item)}`}>Edit</a>
        ${
          item.status === 'active'
            ? html`<a href=${consolePath(`/keys/${item.keyId}/revoke`)} aria-label=${`Revoke ${keyLabel(item)}`}>Revoke</a>`
            : null
        }
      </div>
    </td>
  </tr>`;
};

const KeysTable = ({
  keys,
  activity,
  limits,
}: {
  keys: readonly KeySummary[];
  activity: KeysActivity | undefined;
  limits: ReadonlyMap<string, KeyLimitView>;
}): VNode =>
  keys.length === 0
    ? html`<p class="empty">No keys yet. Create the first one below: its secret is shown once, with settings ready to paste into your tools.</p>`
    : html`<div class="table-wrap">
        <table class="keys">
          <caption class="visually-hidden">This account's API keys</caption>
          <thead>
            <tr>
              <th scope="col">Name</th><th scope="col">Key</th><th scope="col">Created (UTC)</th>
              <th scope="col">Last used</th><th scope="col">Status</th><th scope="col">Models</th>
              <th scope="col" class="num">Rate limits</th><th scope="col">Expires</th>
              <th scope="col" class="num">Spend this month</th><th scope="col">Spend limit</th>
              <th scope="col"><span class="visually-hidden">Actions</span></th>
            </tr>
          </thead>
          <tbody>
            ${keys.map((item) => html`<${KeyRow} item=${item} activity=${activity} limit=${limits.get(item.keyId)} />`)}
          </tbody>
        </table>
      </div>`;

const ModelSelect = ({
  id,
  models,
  selected,
  describedBy,
}: {
  id: string;
  models: readonly ModelChoice[];
  selected: readonly string[];
  describedBy: string;
}): VNode => {
  // A model the key allows that no route serves any more stays offered, so saving keeps it.
  const offered = [
    ...models.map((choice) => choice.model),
    ...selected.filter((m) => !models.some((c) => c.model === m)),
  ];
  return html`<select id=${id} name="models" multiple size=${Math.min(8, Math.max(3, offered.length))} aria-describedby=${describedBy}>
    ${offered.map((model) => html`<option value=${model} selected=${selected.includes(model)}>${model}</option>`)}
  </select>`;
};

const RateFields = ({ prefix, values }: { prefix: string; values: Pick<NewKeyForm, 'rpm' | 'tpm'> }): VNode => html`
  <div class="field">
    <label for=${`${prefix}-rpm`}>Requests per minute <span class="hint">(empty: no limit)</span></label>
    <input id=${`${prefix}-rpm`} name="rpm" type="number" min="1" step="1" inputmode="numeric" value=${values.rpm} />
  </div>
  <div class="field">
    <label for=${`${prefix}-tpm`}>Tokens per minute <span class="hint">(empty: no limit)</span></label>
    <input id=${`${prefix}-tpm`} name="tpm" type="number" min="1" step="1" inputmode="numeric" value=${values.tpm} />
  </div>
`;

const RESET_CHOICES: readonly { value: LimitReset; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: 'daily', label: 'Daily' },
  { value: 'weekly', label: 'Weekly (Mondays)' },
  { value: 'monthly', label: 'Monthly' },
];

/** Where the key stands against its limit, in a sentence (the edit form). */
const LimitNow = ({ id, limit }: { id: string; limit: KeyLimitView }): VNode => html`
  <div id=${id} class="limit-now" data-testid="limit-now">
    <div>
      So far: <${Usd} value=${limit.spentUsd} /> of <${Usd} value=${limit.limitUsd} /> ${PERIOD_WORDS[limit.reset]}${
        limit.heldUsd === undefined ? null : html`, and <${Usd} value=${limit.heldUsd} /> held`
      }${limit.level === 'reached' ? html` — <strong class="limit-reached">Limit reached</strong>` : null}${
        limit.resetsAt === undefined ? null : html`; resets <${ResetTime} at=${limit.resetsAt} />`
      }.
    </div>
    <div class="hint">A new amount on the same reset keeps this spend; a new reset counts what the key spent in its new period.</div>
  </div>
`;

const SpendLimitFields = ({
  prefix,
  values,
  limit,
}: {
  prefix: string;
  values: Pick<NewKeyForm, 'spendLimit' | 'limitReset'>;
  /** The key's limit in its current period (editing a key that has one). */
  limit?: KeyLimitView | undefined;
}): VNode => html`
  <div class="field">
    <label for=${`${prefix}-spend-limit`}>Spend limit (USD) <span class="hint">(empty: no limit)</span></label>
    <input
      id=${`${prefix}-spend-limit`}
      name="spend_limit"
      type="text"
      inputmode="decimal"
      autocomplete="off"
      maxlength="40"
      placeholder="e.g. 20.00"
      value=${values.spendLimit}
      aria-describedby=${limit === undefined ? `${prefix}-spend-limit-hint` : `${prefix}-spend-limit-hint ${prefix}-limit-now`}
    />
    <div id=${`${prefix}-spend-limit-hint`} class="hint">
      The most this key may spend per period, holds of running requests included. The wallet's balance applies to every key.
    </div>
    ${limit === undefined ? null : html`<${LimitNow} id=${`${prefix}-limit-now`} limit=${limit} />`}
  </div>
  <div class="field">
    <label for=${`${prefix}-limit-reset`}>Resets <span class="hint">(UTC, at 00:00)</span></label>
    <select id=${`${prefix}-limit-reset`} name="limit_reset">
      ${RESET_CHOICES.map(
        (choice) =>
          html`<option value=${choice.value} selected=${values.limitReset === choice.value}>${choice.label}</option>`,
      )}
    </select>
  </div>
`;

/** The create form: name, models (none selected = every model), rpm/tpm, expiry, spend limit and its reset. */
export const CreateKeyForm = ({
  session,
  models,
  values,
  error,
}: {
  session: Session;
  models: readonly ModelChoice[];
  values: NewKeyForm;
  error?: string | undefined;
}): VNode => html`
  <section class="card" aria-labelledby="create-title">
    <h2 id="create-title">Create a key</h2>
    ${error ? html`<${Notice} kind="error">${error}<//>` : null}
    <form id="create-key" method="post" action=${consolePath('/keys')}>
      <${CsrfField} session=${session} />
      <div class="grid">
        <div>
          <div class="field">
            <label for="new-name">Name</label>
            <input id="new-name" name="name" type="text" required maxlength="128" value=${values.name} aria-describedby="new-name-hint" />
            <div id="new-name-hint" class="hint">To tell keys apart, e.g. "laptop" or "ci".</div>
          </div>
          <${RateFields} prefix="new" values=${values} />
          <div class="field">
            <label for="new-expires">Expires on <span class="hint">(UTC, from the start of that day; empty: never)</span></label>
            <input id="new-expires" name="expires" type="date" value=${values.expires} />
          </div>
        </div>
        <div>
          <div class="field">
            <label for="new-models">Models</label>
            <${ModelSelect} id="new-models" models=${models} selected=${values.models} describedBy="new-models-hint" />
            <div id="new-models-hint" class="hint">None selected: every model, including ones added later. Ctrl/⌘-click to pick several.</div>
          </div>
          <${SpendLimitFields} prefix="new" values=${values} />
        </div>
      </div>
      <div class="actions"><button type="submit">Create key</button></div>
    </form>
  </section>
`;

interface Snippet {
  id: string;
  title: string;
  intro?: string;
  code: string;
}

/**
 * Ready-to-paste settings for the clients the README documents, with this gateway's URL and `key`
 * filled in. OpenAI-style clients use `<gateway>/v1`; Anthropic-style ones the bare gateway URL.
 */
export const clientSnippets = (gatewayUrl: string, key: string, model: string): Snippet[] => {
  const openaiBase = `${gatewayUrl}/v1`;
  return [
    {
      id: 'snippet-openai-python',
      title: 'OpenAI SDK (Python)',
      code: `from openai import OpenAI

client = OpenAI(base_url="${openaiBase}", api_key="${key}")
response = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)
print(response.choices[0].message.content)`,
    },
    {
      id: 'snippet-openai-node',
      title: 'OpenAI SDK (Node)',
      code: `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${openaiBase}', apiKey: '${key}' });
const response = await client.chat.completions.create({
  model: '${model}',
  messages: [{ role: 'user', content: 'Hello' }],
});
console.log(response.choices[0].message.content);`,
    },
    {
      id: 'snippet-anthropic',
      title: 'Anthropic SDK (Python and Node)',
      intro: 'The base URL has no /v1.',
      code: `# Python
from anthropic import Anthropic

client = Anthropic(base_url="${gatewayUrl}", api_key="${key}")
message = client.messages.create(
    model="${model}", max_tokens=1024, messages=[{"role": "user", "content": "Hello"}]
)

// Node
import Anthropic from '@anthropic-ai/sdk';

const client = new Anthropic({ baseURL: '${gatewayUrl}', apiKey: '${key}' });`,
    },
    {
      id: 'snippet-claude-code',
      title: 'Claude Code',
      intro: 'In the shell that starts claude; leave ANTHROPIC_API_KEY unset.',
      code: `export ANTHROPIC_BASE_URL=${gatewayUrl}
export ANTHROPIC_AUTH_TOKEN=${key}
export ANTHROPIC_MODEL=${model}
claude`,
    },
    {
      id: 'snippet-codex',
      title: 'Codex',
      intro: 'In ~/.codex/config.toml, then export TOLLGATE_KEY in the shell that starts codex.',
      code: `model = "${model}"
model_provider = "tollgate"

[model_providers.tollgate]
name = "Tollgate"
base_url = "${openaiBase}"
env_key = "TOLLGATE_KEY"
wire_api = "responses"

# in your shell:
export TOLLGATE_KEY=${key}`,
    },
    {
      id: 'snippet-cline',
      title: 'Cline / Kilo Code',
      intro: 'Where the tool cannot choose a model freely, put the route in the key with the suffix builder below.',
      code: `API Provider: OpenAI Compatible
Base URL: ${openaiBase}
API Key: ${key}
Model ID: ${model}`,
    },
  ];
};

const CopyButton = ({ target, label }: { target: string; label: string }): VNode =>
  html`<button type="button" class="secondary" data-copy=${target} aria-label=${label} hidden>Copy</button>`;

/** Settings for each documented client, in `<details>` with a copy button. */
export const ClientSettings = ({
  gatewayUrl,
  secret,
  model,
}: {
  gatewayUrl: string;
  /** The new key's secret; absent: a placeholder the reader replaces. */
  secret?: string;
  model: string;
}): VNode => html`
  <section class="card" aria-labelledby="settings-title">
    <h2 id="settings-title">Connect a client</h2>
    <p>
      OpenAI-style clients: base URL <code>${gatewayUrl}/v1</code>. Anthropic-style clients: base URL${' '}<code>${gatewayUrl}</code>.${secret === undefined ? ` Replace ${PLACEHOLDER_KEY} with your key.` : ''}
    </p>
    ${clientSnippets(gatewayUrl, secret ?? PLACEHOLDER_KEY, model).map(
      (snippet) => html`<details>
        <summary>${snippet.title}</summary>
        ${snippet.intro ? html`<p class="hint">${snippet.intro}</p>` : null}
        <pre><code id=${snippet.id}>${snippet.code}</code></pre>
        <div class="actions"><${CopyButton} target=${snippet.id} label=${`Copy the ${snippet.title} settings`} /></div>
      </details>`,
    )}
  </section>
`;

/** The key-suffix builder: `sk-…-provider/model` for clients that cannot choose a model. */
const SuffixBuilder = ({ secret, models }: { secret: string; models: readonly ModelChoice[] }): VNode => html`
  <section class="card" aria-labelledby="suffix-title">
    <h2 id="suffix-title">A key for one model</h2>
    <p>
      For clients that cannot choose a model (Cline, Kilo Code), append <code>-provider/model</code> to the key: the suffix's model overrides whatever the client sends, e.g.${' '}<code>sk-…-${models[0] ? `${models[0].provider}/${models[0].model}` : 'anthropic/claude-sonnet-4-6'}</code>. Pick a model to build the key:
    </p>
    <div class="field">
      <label for="suffix-model">Model</label>
      <select id="suffix-model" data-suffix-for="suffixed-key">
        <option value="">(no suffix)</option>
        ${models.map((choice) => html`<option value=${`${choice.provider}/${choice.model}`}>${choice.provider}/${choice.model}</option>`)}
      </select>
    </div>
    <div class="secret">
      <code id="suffixed-key" data-key=${secret}>${secret}</code>
      <${CopyButton} target="suffixed-key" label="Copy the key with its suffix" />
    </div>
  </section>
`;

const exampleModel = (models: readonly ModelChoice[], allowed?: readonly string[]): string =>
  allowed?.[0] ?? models[0]?.model ?? 'gpt-5.2';

const NOTICES = { revoked: 'revoked', updated: 'saved' } as const;

/** The API Keys page; with `created`, the new key's secret is on it, once. */
export const KeysPage = ({
  session,
  gatewayUrl,
  keys,
  models,
  activity,
  limits,
  form = EMPTY_NEW_KEY_FORM,
  error,
  notice,
}: {
  session: Session;
  gatewayUrl: string;
  keys: readonly KeySummary[];
  models: readonly ModelChoice[];
  activity: KeysActivity | undefined;
  limits: ReadonlyMap<string, KeyLimitView>;
  form?: NewKeyForm;
  error?: string | undefined;
  notice?: { kind: keyof typeof NOTICES; key: KeySummary } | undefined;
}): VNode => html`
  <${Layout} title="API Keys" session=${session} section="keys">
    <h1>API Keys</h1>
    ${
      notice
        ? html`<${Notice} kind="ok">
            Key <strong class="name">${keyLabel(notice.key)}</strong> ${NOTICES[notice.kind]}.${' '}${notice.kind === 'revoked' ? 'A running gateway may take up to 30 seconds to notice.' : 'A running gateway applies the change within 30 seconds.'}
          <//>`
        : null
    }
    <section class="card" aria-labelledby="keys-title">
      <h2 id="keys-title">Keys</h2>
      <${KeysTable} keys=${keys} activity=${activity} limits=${limits} />
      ${
        activity === undefined
          ? null
          : html`<p class="hint">Last used and spend from the last ${activity.days} days; spend is this month's (UTC), settled requests.</p>`
      }
      ${
        keys.length === 0
          ? null
          : html`<p class="hint">A spend limit counts the key's settled spend and the holds of its running requests in the period (UTC; weeks start on Monday). A key with no limit can spend the wallet's whole balance. Change a limit with Edit.</p>`
      }
    </section>
    <${CreateKeyForm} session=${session} models=${models} values=${form} error=${error} />
    <${ClientSettings} gatewayUrl=${gatewayUrl} model=${exampleModel(models)} />
  <//>
`;

/** The answer to a created key: the secret, once, and the settings with it filled in. */
export const KeyCreatedPage = ({
  session,
  gatewayUrl,
  created,
  models,
  spendLimit,
}: {
  session: Session;
  gatewayUrl: string;
  created: KeyCreated;
  models: readonly ModelChoice[];
  /** The new key's spend limit, as USD. */
  spendLimit?: { limitUsd: string; reset: LimitReset } | undefined;
}): VNode => {
  const usable = created.models ? models.filter((choice) => created.models?.includes(choice.model)) : models;
  return html`
    <${Layout} title="Key created" session=${session} section="keys">
      <h1>Key created: <span class="name">${keyLabel(created)}</span></h1>
      <${Notice} kind="info">
        <strong>This secret is shown once.</strong> Copy it now and keep it somewhere safe: Tollgate stores only
        its hash and cannot show it again. If it is lost, revoke the key and create a new one.
      <//>
      <section class="card" aria-labelledby="secret-title">
        <h2 id="secret-title">Secret</h2>
        <div class="secret">
          <code id="new-key-secret">${created.key}</code>
          <button type="button" data-copy="new-key-secret" hidden>Copy</button>
        </div>
        ${
          spendLimit === undefined
            ? null
            : html`<p>Spend limit: <${Usd} value=${spendLimit.limitUsd} /> ${LIMIT_PER[spendLimit.reset]}.</p>`
        }
      </section>
      <${ClientSettings} gatewayUrl=${gatewayUrl} secret=${created.key} model=${exampleModel(models, created.models)} />
      <${SuffixBuilder} secret=${created.key} models=${usable} />
      <p><a href=${consolePath('/keys')}>Back to the keys</a></p>
    <//>
  `;
};

/** Edit a key's name, models, limits and expiry. */
export const EditKeyPage = ({
  session,
  item,
  models,
  values,
  limit,
  error,
}: {
  session: Session;
  item: KeySummary;
  models: readonly ModelChoice[];
  values: EditKeyForm;
  limit?: KeyLimitView | undefined;
  error?: string | undefined;
}): VNode => html`
  <${Layout} title=${`Edit ${keyLabel(item)}`} session=${session} section="keys">
    <h1>Edit key <span class="name">${keyLabel(item)}</span></h1>
    <p><code>${item.prefix}…</code> · <span class=${STATUS_TAG[item.status]}>${item.status}</span></p>
    ${error ? html`<${Notice} kind="error">${error}<//>` : null}
    <form class="card" id="edit-key" method="post" action=${consolePath(`/keys/${item.keyId}`)}>
      <${CsrfField} session=${session} />
      <div class="field">
        <label for="edit-name">Name</label>
        <input id="edit-name" name="name" type="text" required maxlength="128" value=${values.name} />
      </div>
      <fieldset class="field">
        <legend>Models</legend>
        <label><input type="radio" name="models_mode" value="all" checked=${values.modelsMode === 'all'} /> All models</label>
        <label><input type="radio" name="models_mode" value="some" checked=${values.modelsMode === 'some'} /> Only the models selected below</label>
        <label class="visually-hidden" for="edit-models">Allowed models</label>
        <${ModelSelect} id="edit-models" models=${models} selected=${values.models} describedBy="edit-models-hint" />
        <div id="edit-models-hint" class="hint">Ctrl/⌘-click to pick several.</div>
      </fieldset>
      <${RateFields} prefix="edit" values=${values} />
      <${SpendLimitFields} prefix="edit" values=${values} limit=${limit} />
      <fieldset class="field">
        <legend>Expiry</legend>
        <label><input type="radio" name="expiry_mode" value="never" checked=${values.expiryMode === 'never'} /> Never expires</label>
        <label><input type="radio" name="expiry_mode" value="date" checked=${values.expiryMode === 'date'} /> Expires on this day (UTC, from its start)</label>
        <label class="visually-hidden" for="edit-expires">Expiry date</label>
        <input id="edit-expires" name="expires" type="date" value=${values.expires} />
      </fieldset>
      <div class="actions">
        <button type="submit">Save changes</button>
        <a class="button secondary" href=${consolePath('/keys')}>Cancel</a>
      </div>
    </form>
  <//>
`;

/** "Revoke this key?": the confirmation a revocation needs. */
export const RevokeKeyPage = ({ session, item }: { session: Session; item: KeySummary }): VNode => html`
  <${Layout} title=${`Revoke ${keyLabel(item)}`} session=${session} section="keys">
    <h1>Revoke key <span class="name">${keyLabel(item)}</span>?</h1>
    <section class="card">
      ${
        item.status === 'revoked'
          ? html`<p>This key (<code>${item.prefix}…</code>) is already revoked.</p>
              <p><a href=${consolePath('/keys')}>Back to the keys</a></p>`
          : html`<p>
                Every request made with <code>${item.prefix}…</code> will be refused with 401. This cannot be undone:
                to use the gateway again, create a new key. A running gateway may take up to 30 seconds to notice.
              </p>
              <form method="post" action=${consolePath(`/keys/${item.keyId}/revoke`)}>
                <${CsrfField} session=${session} />
                <div class="actions">
                  <button type="submit" class="danger">Revoke key</button>
                  <a class="button secondary" href=${consolePath('/keys')}>Cancel</a>
                </div>
              </form>`
      }
    </section>
  <//>
`;
