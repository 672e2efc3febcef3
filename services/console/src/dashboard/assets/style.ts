/** The dashboard's stylesheet, served from /assets/dashboard.css so that the CSP can forbid inline styles. */
export const DASHBOARD_CSS = `
:root { --fg:#1d2330; --muted:#5b6474; --line:#d9dee7; --bg:#f5f7fa; --card:#fff; --accent:#1f6feb; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; --wait:#8250df; --idle:#6e7781; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--fg); background:var(--bg); }
code, pre, textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size:12.5px; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
.top { display:flex; justify-content:space-between; align-items:center; padding:10px 24px; background:#0d1117; color:#e6edf3; }
.top nav { display:flex; gap:18px; align-items:center; } .top nav a { color:#c9d1d9; }
.top a.brand { font-weight:600; color:#e6edf3; } .sep { opacity:.5; }
.who { display:flex; gap:12px; align-items:center; margin:0; }
.role { font-size:11px; border-radius:999px; padding:1px 7px; border:1px solid #57606a; text-transform:uppercase; letter-spacing:.4px; }
.role-operate { border-color:#3fb950; color:#3fb950; }
main { max-width:1240px; margin:0 auto; padding:20px 24px 48px; }
h1 { font-size:21px; margin:6px 0 14px; display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
h1 code { font-size:inherit; }
h2 { font-size:16px; margin:26px 0 10px; display:flex; align-items:center; gap:8px; }
.count { font-size:12px; background:var(--idle); color:#fff; border-radius:999px; padding:0 8px; }
.hint { color:var(--muted); font-size:12px; font-weight:normal; }
.live { font-size:11px; border-radius:999px; padding:1px 8px; font-weight:600; text-transform:uppercase; letter-spacing:.4px; }
.live.on { background:#dafbe1; color:var(--ok); } .live.off { background:#fff8c5; color:var(--warn); }
.filters { display:flex; flex-wrap:wrap; gap:10px 14px; align-items:flex-end; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:12px 14px; margin-bottom:14px; }
.filters label { display:flex; flex-direction:column; font-size:12px; color:var(--muted); gap:3px; }
input, select, textarea { border:1px solid var(--line); border-radius:6px; padding:6px 9px; font:inherit; background:#fff; color:var(--fg); }
input:focus, select:focus { outline:2px solid var(--accent); outline-offset:0; border-color:var(--accent); }
button, a.button { font:inherit; border-radius:6px; padding:6px 13px; border:1px solid var(--line); background:#f6f8fa; color:var(--fg); cursor:pointer; white-space:nowrap; display:inline-block; }
button.primary, a.button.primary { background:var(--ok); border-color:var(--ok); color:#fff; font-weight:600; }
button.danger, a.button.danger { background:#fff; border-color:var(--bad); color:var(--bad); font-weight:600; }
button.link { background:none; border:none; color:#9ecbff; padding:0; text-decoration:underline; }
a.button:hover { text-decoration:none; filter:brightness(.97); }
table { width:100%; border-collapse:collapse; background:var(--card); border:1px solid var(--line); border-radius:8px; font-size:13px; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { color:var(--muted); font-weight:500; background:#fafbfc; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.reason { color:var(--muted); max-width:520px; overflow-wrap:anywhere; }
tr.empty td { color:var(--muted); text-align:center; padding:18px; }
progress { width:70px; height:9px; vertical-align:middle; }
.chip { display:inline-block; font-size:12px; background:#eef1f5; border:1px solid var(--line); border-radius:999px; padding:0 8px; margin:1px 4px 1px 0; color:var(--fg); overflow-wrap:anywhere; }
.status { font-size:12px; font-weight:600; border-radius:999px; padding:1px 9px; white-space:nowrap; border:1px solid transparent; }
.st-succeeded.status { background:#dafbe1; color:var(--ok); }
.st-failed.status, .st-timed_out.status, .st-budget_exhausted.status { background:#ffebe9; color:var(--bad); }
.st-running.status, .st-dispatched.status { background:#ddf4ff; color:var(--accent); }
.st-waiting_approval.status { background:#fbefff; color:var(--wait); }
.st-paused.status { background:#fff8c5; color:var(--warn); }
.st-queued.status, .st-pending.status, .st-cancelled.status, .st-skipped.status { background:#eef1f5; color:var(--idle); }
.pager { display:flex; gap:18px; margin:12px 0; align-items:center; }
.batch-link { margin:0 0 10px; }
.error { color:var(--bad); background:#ffebe9; border:1px solid #ffcecb; border-radius:6px; padding:8px 12px; }
ul.error { padding-left:28px; }
.notice { background:#dafbe1; border:1px solid #aceebb; color:#116329; border-radius:6px; padding:8px 12px; }
.empty { color:var(--muted); }
.message, .login, .confirm { max-width:620px; margin:40px auto; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:24px; }
.login { max-width:420px; } .login form, .confirm form { display:grid; gap:10px; } .login p { color:var(--muted); }
.confirm fieldset { border:1px solid var(--line); border-radius:8px; display:grid; gap:6px; padding:10px 14px; }
.confirm .radio { display:flex; gap:8px; align-items:center; }
.confirm .actions { display:flex; gap:16px; align-items:center; margin-top:6px; }
.crumbs { color:var(--muted); margin:0 0 6px; display:flex; gap:6px; align-items:center; }
.run-head { display:flex; justify-content:space-between; align-items:center; gap:12px; flex-wrap:wrap; }
.run-head .actions { display:flex; gap:8px; }
p.reason { margin:0 0 10px; padding:8px 12px; border-radius:6px; background:#f6f8fa; border-left:3px solid var(--idle); overflow-wrap:anywhere; }
p.reason.st-failed, p.reason.st-timed_out, p.reason.st-budget_exhausted { border-left-color:var(--bad); background:#fff5f5; }
.facts { display:grid; grid-template-columns:130px 1fr; gap:4px 16px; margin:8px 0; }
.facts dt { color:var(--muted); } .facts dd { margin:0; overflow-wrap:anywhere; }
.figures { display:grid; grid-template-columns:repeat(4, 1fr); gap:10px; margin:14px 0; }
.figures div { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.figures dt { color:var(--muted); font-size:12px; } .figures dd { margin:2px 0 0; font-size:20px; font-weight:600; }
table.counts { width:auto; min-width:280px; }
svg.bar { width:100%; height:18px; border-radius:6px; display:block; margin:8px 0; }
.fill-empty { fill:#eef1f5; } .fill-succeeded { fill:#2da44e; } .fill-failed, .fill-timed_out, .fill-budget_exhausted { fill:#cf222e; }
.fill-running { fill:#1f6feb; } .fill-queued, .fill-cancelled { fill:#8c959f; } .fill-waiting_approval { fill:#8250df; } .fill-paused { fill:#bf8700; }
.dag-wrap { overflow-x:auto; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:8px; margin-bottom:14px; }
svg.dag .edge { fill:none; stroke:#8c959f; stroke-width:1.5; } svg.dag .arrow { fill:#8c959f; }
svg.dag rect { fill:#f6f8fa; stroke:#8c959f; stroke-width:1.5; }
svg.dag .st-succeeded rect { fill:#dafbe1; stroke:#2da44e; } svg.dag .st-failed rect { fill:#ffebe9; stroke:#cf222e; }
svg.dag .st-dispatched rect { fill:#ddf4ff; stroke:#1f6feb; } svg.dag .st-skipped rect { stroke-dasharray:4 3; }
svg.dag text { font:12px ui-monospace, Menlo, Consolas, monospace; fill:var(--fg); } svg.dag text.detail { font:11px system-ui, sans-serif; fill:var(--muted); }
.step { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--idle); border-radius:8px; padding:10px 16px; margin:0 0 10px; }
.step.st-succeeded { border-left-color:#2da44e; } .step.st-failed { border-left-color:var(--bad); } .step.st-dispatched { border-left-color:var(--accent); }
.step .facts { grid-template-columns:repeat(3, 86px minmax(0, 1fr)); }
.step header { display:flex; justify-content:space-between; align-items:center; gap:10px; }
.step h3 { font-size:15px; margin:0; display:flex; align-items:center; gap:8px; flex-wrap:wrap; }
.kind { font-size:11px; text-transform:uppercase; letter-spacing:.5px; color:var(--muted); }
pre.json { background:#0d1117; color:#e6edf3; padding:10px 12px; border-radius:8px; overflow:auto; max-height:420px; margin:6px 0; white-space:pre-wrap; overflow-wrap:anywhere; }
pre.json.full { max-height:none; }
details.output summary { cursor:pointer; color:var(--accent); }
.more { margin:2px 0 6px; }
.approval { background:#fbefff; border:1px solid #e3c6ff; border-radius:6px; padding:6px 10px; }
.pending ul { margin:0; padding-left:20px; }
ol.turns { margin:6px 0; padding-left:0; list-style:none; display:grid; gap:4px; }
ol.turns > li { display:flex; gap:10px; } ol.turns ul { margin:0; padding-left:0; list-style:none; }
.turn { font-size:12px; font-weight:600; color:var(--wait); min-width:52px; }
.action { font-weight:600; }
table.decisions td:nth-child(2) { white-space:nowrap; color:var(--muted); }
@media (max-width: 800px) { .figures { grid-template-columns:repeat(2, 1fr); } .facts, .step .facts { grid-template-columns:1fr; } }
`;
