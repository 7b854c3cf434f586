import { createHash } from 'node:crypto';

/**
 * The console's one style sheet and one script, served from `/console/static/` (the CSP allows
 * no inline style or script). Their URLs carry a content hash, so they are cached for a year.
 */

const CSS = `
:root{--bg:#f6f7f9;--card:#fff;--ink:#1b1f24;--muted:#5b6470;--line:#dfe3e8;--accent:#2456d6;--accent-ink:#fff;
--good:#16794c;--warn:#9a5b00;--bad:#b42318;--radius:10px;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{outline:3px solid #8fb0ff;outline-offset:2px}
header.top{background:#101828;color:#fff}
header.top .bar{max-width:1180px;margin:0 auto;padding:10px 20px;display:flex;flex-wrap:wrap;gap:10px 24px;align-items:center}
header.top .brand{font-weight:700;color:#fff;text-decoration:none;font-size:17px}
header.top nav{display:flex;gap:4px;flex-wrap:wrap}
header.top nav a{color:#cfd6e4;text-decoration:none;padding:6px 10px;border-radius:6px}
header.top nav a[aria-current=page]{background:#2b3a55;color:#fff}
header.top .who{margin-left:auto;display:flex;gap:10px;align-items:center;flex-wrap:wrap;font-size:14px;color:#cfd6e4}
header.top .who form{margin:0;display:flex;gap:6px;align-items:center}
header.top .who select{max-width:14em}
header.top button.link{background:none;border:1px solid #3b4a66;color:#fff;padding:4px 10px}
main{max-width:1180px;margin:0 auto;padding:20px}
h1{font-size:24px;margin:4px 0 16px}
h2{font-size:18px;margin:0 0 12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:var(--radius);padding:18px;margin-bottom:18px;min-width:0}
.grid{display:grid;gap:18px;grid-template-columns:repeat(auto-fit,minmax(260px,1fr))}
.figure{font-size:30px;font-weight:700;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.figure.negative{color:var(--bad)}
.muted{color:var(--muted)}
.small{font-size:13px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:10px 0 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;-webkit-overflow-scrolling:touch;position:relative}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);white-space:nowrap;font-size:13px}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{min-width:8em;max-width:22em;overflow-wrap:anywhere}
table.wide{min-width:900px}
td time,td code{white-space:nowrap}
.card>:first-child{margin-top:0}
footer.center{text-align:center}
.presets{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:12px}
tbody tr:hover{background:#f9fafc}
.tag{display:inline-block;font-size:12px;padding:1px 7px;border-radius:999px;background:#eef1f6;color:#3b4656;margin:1px 2px 1px 0;white-space:nowrap}
.tag.good{background:#e3f4ea;color:var(--good)}.tag.warn{background:#fdf0d8;color:var(--warn)}.tag.bad{background:#fde7e5;color:var(--bad)}
form.inline{display:inline}
label{display:block;font-weight:600;font-size:14px;margin:0 0 4px}
.field{margin-bottom:12px;min-width:0}
.hint{font-weight:400;color:var(--muted);font-size:13px}
input:not([type]),input[type=text],input[type=email],input[type=number],input[type=date],input[type=datetime-local],select,textarea{font:inherit;width:100%;padding:8px 10px;border:1px solid #c5ccd6;border-radius:8px;background:#fff;color:var(--ink)}
.filters{display:grid;gap:10px;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));align-items:end}
button,.button{font:inherit;font-weight:600;display:inline-block;padding:8px 14px;border-radius:8px;border:1px solid var(--accent);background:var(--accent);color:var(--accent-ink);cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger,.button.danger{background:var(--bad);border-color:var(--bad)}
.actions{display:flex;gap:8px;flex-wrap:wrap;align-items:center}
.notice{border-radius:8px;padding:10px 14px;margin-bottom:16px;border:1px solid}
.notice.ok{background:#e9f7ef;border-color:#b7e1c8}.notice.error{background:#fdecea;border-color:#f3b9b3}.notice.info{background:#eef3ff;border-color:#c7d5fb}
.secret{display:flex;gap:8px;align-items:stretch;flex-wrap:wrap}
code,pre,.mono{font-family:var(--mono);font-size:13px}
.secret code{flex:1 1 20em;background:#101828;color:#e7ecf5;padding:10px 12px;border-radius:8px;overflow-wrap:anywhere}
pre{background:#101828;color:#e7ecf5;padding:12px 14px;border-radius:8px;overflow-x:auto;white-space:pre}
details{border:1px solid var(--line);border-radius:8px;padding:8px 12px;margin-bottom:8px;background:#fff}
details summary{cursor:pointer;font-weight:600}
.empty{padding:26px;text-align:center;color:var(--muted)}
.pager{display:flex;justify-content:space-between;gap:10px;margin-top:12px;flex-wrap:wrap}
.chart .plot-wrap{overflow-x:auto}.chart svg.plot{width:100%;min-width:560px;height:auto;display:block;max-height:260px}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;font-size:13px;margin-top:8px}
.legend span{display:inline-flex;align-items:center;gap:5px;overflow-wrap:anywhere}.legend svg{flex:none}
.sign-in{max-width:420px;margin:8vh auto}
table.keys th{white-space:normal}
table.keys td time.stamp{white-space:normal}
time.stamp span{white-space:nowrap}
td.limit{min-width:10em}
td.limit .limit-figures{font-variant-numeric:tabular-nums}
meter.limit-meter{display:block;width:100%;max-width:14em;height:8px;margin:5px 0 3px;-webkit-appearance:none;appearance:none;background:#e6eaf0;border:0;border-radius:999px;overflow:hidden}
meter.limit-meter::-webkit-meter-bar{background:#e6eaf0;border:0;border-radius:999px;height:8px}
meter.limit-meter::-webkit-meter-optimum-value{background:var(--accent);border-radius:999px}
meter.limit-meter.warn::-webkit-meter-optimum-value{background:#d98a00}
meter.limit-meter.reached::-webkit-meter-optimum-value{background:var(--bad)}
meter.limit-meter::-moz-meter-bar{background:var(--accent);border-radius:999px}
meter.limit-meter.warn::-moz-meter-bar{background:#d98a00}
meter.limit-meter.reached::-moz-meter-bar{background:var(--bad)}
td.limit[data-limit=warn] .limit-figures{color:var(--warn)}
.limit-now{margin-top:8px;padding:8px 10px;border-radius:8px;background:#f3f5f9;font-size:14px}
.limit-reached{font-weight:600;font-size:13px;color:var(--bad)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
footer{max-width:1180px;margin:0 auto;padding:10px 20px 30px;color:var(--muted);font-size:13px}
@media (max-width:640px){
table.keys thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
table.keys,table.keys tbody,table.keys tr,table.keys td{display:block;width:100%}
table.keys tr{padding:10px 0;border-bottom:1px solid var(--line)}
table.keys td{display:flow-root;border:0;padding:3px 0 3px 124px;text-align:left;max-width:none;min-width:0;white-space:normal}
table.keys td::before{content:attr(data-label);float:left;margin-left:-124px;width:116px;color:var(--muted);font-size:13px;font-weight:600}
table.keys td.key-name,table.keys td.key-actions{padding-left:0}
table.keys td.key-name{font-weight:600;font-size:15px}
table.keys td.key-actions{padding-top:6px}
meter.limit-meter{max-width:none}
}
@media (max-width:640px){main{padding:12px}.card{padding:14px}h1{font-size:21px}header.top .who{margin-left:0}.figure{font-size:26px}}
`;

/** Copy buttons (`data-copy="<element id>"`) and the key-suffix builder; the pages work without it. */
const JS = `
document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  navigator.clipboard.writeText(source.textContent.trim()).then(() => {
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
for (const select of document.querySelectorAll('select[data-suffix-for]')) {
  const output = document.getElementById(select.dataset.suffixFor);
  const base = output ? output.dataset.key : undefined;
  const update = () => { if (output && base) output.textContent = select.value ? base + '-' + select.value : base; };
  select.addEventListener('change', update);
  update();
}
for (const button of document.querySelectorAll('[data-copy]')) button.hidden = false;
`;

/** An asset at a URL that changes with its content: `/static/console.<hash>.css`. */
const versioned = (name: string, extension: 'css' | 'js', body: string) => {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const type = extension === 'css' ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
  return { path: `/static/${name}.${hash}.${extension}`, type, body };
};

export const STYLESHEET = versioned('console', 'css', CSS.trim());
export const SCRIPT = versioned('console', 'js', JS.trim());

export const STATIC_FILES: ReadonlyMap<string, { type: string; body: string }> = new Map(
  [STYLESHEET, SCRIPT].map((asset) => [asset.path, asset]),
);
