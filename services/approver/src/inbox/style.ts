/** The inbox's stylesheet, served from /inbox/style.css so that the CSP can forbid inline styles. */
export const INBOX_CSS = `
:root { --fg:#1d2330; --muted:#5b6474; --line:#d9dee7; --bg:#f5f7fa; --card:#fff; --accent:#1f6feb; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color:var(--fg); background:var(--bg); }
code, pre, textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size:13px; }
.top { display:flex; justify-content:space-between; align-items:center; padding:10px 24px; background:#0d1117; color:#e6edf3; }
.brand { font-weight:600; letter-spacing:.2px; } .sep { opacity:.5; }
.who { display:flex; gap:12px; align-items:center; margin:0; }
main { max-width:960px; margin:0 auto; padding:24px; }
h1 { font-size:22px; margin:8px 0 16px; display:flex; align-items:center; gap:10px; }
.count { font-size:13px; background:var(--accent); color:#fff; border-radius:999px; padding:1px 9px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px; padding:18px 20px; margin:0 0 18px; box-shadow:0 1px 2px rgba(0,0,0,.04); }
.card h2 { font-size:18px; margin:0; }
.card h3 { font-size:13px; text-transform:uppercase; letter-spacing:.5px; color:var(--muted); margin:14px 0 6px; }
.meta { color:var(--muted); margin:4px 0 10px; font-size:13px; }
.deadline { color:var(--warn); font-weight:500; }
.badge { font-size:12px; border-radius:999px; padding:2px 8px; vertical-align:middle; font-weight:500; }
.badge.warn { background:#fff8c5; color:var(--warn); border:1px solid #eac54f; }
.facts { display:grid; grid-template-columns:160px 1fr; gap:6px 16px; margin:8px 0; }
.facts dt { color:var(--muted); } .facts dd { margin:0; }
meter { width:120px; height:10px; vertical-align:middle; }
.reasoning p { margin:0; white-space:pre-wrap; background:#f6f8fa; border-left:3px solid var(--line); padding:8px 12px; }
.args { background:#0d1117; color:#e6edf3; padding:12px 14px; border-radius:8px; overflow:auto; margin:0; }
.actions { display:flex; gap:12px; align-items:center; margin-top:16px; flex-wrap:wrap; }
.actions form { margin:0; }
.reject { display:flex; gap:8px; flex:1; min-width:280px; }
.reject input { flex:1; }
input, textarea { border:1px solid var(--line); border-radius:6px; padding:7px 10px; font:inherit; width:100%; background:#fff; }
textarea { display:block; margin:6px 0 10px; }
input:focus, textarea:focus { outline:2px solid var(--accent); outline-offset:0; border-color:var(--accent); }
button { font:inherit; border-radius:6px; padding:7px 14px; border:1px solid var(--line); background:#f6f8fa; cursor:pointer; white-space:nowrap; }
button.primary { background:var(--ok); border-color:var(--ok); color:#fff; font-weight:600; }
button.danger { background:#fff; border-color:var(--bad); color:var(--bad); font-weight:600; }
button.link { background:none; border:none; color:#9ecbff; padding:0; text-decoration:underline; }
.edit { margin-top:14px; border-top:1px dashed var(--line); padding-top:10px; }
.edit summary { cursor:pointer; color:var(--accent); font-weight:500; }
.edit label { display:block; margin-top:10px; color:var(--muted); font-size:13px; }
.error { color:var(--bad); background:#ffebe9; border:1px solid #ffcecb; border-radius:6px; padding:8px 12px 8px 28px; }
p.error { padding-left:12px; }
.notice { background:#dafbe1; border:1px solid #aceebb; color:#116329; border-radius:6px; padding:8px 12px; }
.empty { color:var(--muted); }
.recent-title { font-size:16px; margin:28px 0 10px; }
table.recent { width:100%; border-collapse:collapse; background:var(--card); border:1px solid var(--line); border-radius:8px; font-size:13px; }
.recent th, .recent td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
.recent th { color:var(--muted); font-weight:500; }
.verdict { font-weight:600; } .verdict.approved, .verdict.edited { color:var(--ok); } .verdict.rejected { color:var(--bad); }
.login { max-width:420px; margin:48px auto; background:var(--card); border:1px solid var(--line); border-radius:10px; padding:24px; }
.login form { display:grid; gap:10px; }
.login p { color:var(--muted); }
`;
