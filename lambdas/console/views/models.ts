import { describeDiscount } from '../../gateway/wallet-view.ts';
import type { AccountModel, AccountModels, ModelPrice } from '../../services/models.ts';
import { html, type VNode } from '../html.ts';
import type { Session } from '../session.ts';
import { Layout, Notice } from './layout.ts';
import { Usd } from './money.ts';

const OPERATION_NAMES: Record<AccountModel['endpoints'][number]['operation'], string> = {
  chat: 'Chat Completions',
  messages: 'Messages',
  responses: 'Responses',
  embeddings: 'Embeddings',
};

/** What the account pays, with the list price beside it when the account has a discount. */
const Price = ({ price, discounted }: { price: ModelPrice; discounted: boolean }): VNode => html`
  <${Usd} value=${price.usd} />
  ${discounted && price.usd !== price.list_usd ? html`<br /><span class="muted small">list <${Usd} value=${price.list_usd} /></span>` : null}
  ${price.as_input ? html`<br /><span class="muted small">input price</span>` : null}
`;

const Endpoints = ({ model }: { model: AccountModel }): VNode =>
  model.endpoints.length === 0
    ? html`<span class="tag bad" title="The route names a provider this gateway does not know">unavailable</span>`
    : html`${model.endpoints.map(
        (endpoint) =>
          html`<span
            class=${`tag${endpoint.translated ? '' : ' good'}`}
            title=${`${endpoint.path}${endpoint.translated ? ': translated by the gateway' : ': native'}`}
            >${OPERATION_NAMES[endpoint.operation]}${endpoint.translated ? ' (translated)' : ''}</span
          >`,
      )}`;

const ModelRow = ({ model, discounted }: { model: AccountModel; discounted: boolean }): VNode => html`
  <tr>
    <th scope="row" class="name">
      <code>${model.model}</code>
      <div class="muted small" title="This key suffix selects the model">key <span class="mono">sk-…${model.key_suffix}</span></div>
    </th>
    <td>${model.provider}</td>
    <td><${Endpoints} model=${model} /></td>
    <td class="name">${model.fallbacks.length === 0 ? html`<span class="muted">none</span>` : model.fallbacks.join(', ')}</td>
    <td class="num"><${Price} price=${model.prices.input} discounted=${discounted} /></td>
    <td class="num"><${Price} price=${model.prices.output} discounted=${discounted} /></td>
    <td class="num"><${Price} price=${model.prices.cache_read} discounted=${discounted} /></td>
    <td class="num"><${Price} price=${model.prices.cache_write} discounted=${discounted} /></td>
  </tr>
`;

/** The Models page: what the account may call, how, and what it pays per million tokens. */
export const ModelsPage = ({ session, models }: { session: Session; models: AccountModels }): VNode => {
  const discounted = models.discount_ppm !== 1_000_000;
  return html`
    <${Layout} title="Models" session=${session} section="models">
      <h1>Models</h1>
      <${Notice} kind="info">
        Plugins quote list prices; these are what you pay.${' '}
        ${discounted ? html`Your discount: ${describeDiscount(models.discount_ppm)}.${' '}` : null}
        Prices are USD per million tokens.
      <//>
      <section class="card" aria-labelledby="models-title">
        <h2 id="models-title">Models this account may use</h2>
        ${
          models.models.length === 0
            ? html`<p class="empty">No models are routed yet. The gateway's operator adds them; ask them which models you need.</p>`
            : html`<div class="table-wrap">
                <table>
                  <caption class="visually-hidden">Models, how to call them, and their prices per million tokens</caption>
                  <thead>
                    <tr>
                      <th scope="col">Model</th><th scope="col">Provider</th><th scope="col">Call with</th>
                      <th scope="col">Fallbacks</th>
                      <th scope="col" class="num">Input</th><th scope="col" class="num">Output</th>
                      <th scope="col" class="num">Cache read</th><th scope="col" class="num">Cache write</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${models.models.map((model) => html`<${ModelRow} model=${model} discounted=${discounted} />`)}
                  </tbody>
                </table>
              </div>
              <p class="muted small">
                Any model answers on the OpenAI and the Anthropic protocol where marked: the gateway translates
                requests and answers both ways. For clients that cannot choose a model (Cline, Kilo Code), append the
                key suffix to your key: <code>sk-…-provider/model</code> selects that model whatever the request names.
                Fallbacks are tried in order when a model's upstream is busy or down.
              </p>`
        }
      </section>
    <//>
  `;
};
