import Support
import Scenario
import Run
extension RunReport {
    /// The page's styles: one column on a narrow window, the timeline beside the tables on a wide one.
    static let style = """
        :root { --fg: #1d1d1f; --muted: #6e6e73; --line: #d2d2d7; --sel: #fff2b3;
          --add: #d8f5d0; --chg: #fde9b8; --del: #f9d3d0; --mono: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fafafa; }
        header { padding: 8px 16px; background: #24292f; color: #fff; }
        h1 { font-size: 16px; margin: 0; font-weight: 600; overflow-wrap: anywhere; }
        h2 { font-size: 14px; margin: 0 0 6px; }
        section { padding: 8px 16px; }
        #summary { display: flex; flex-wrap: wrap; gap: 4px 24px; border-bottom: 1px solid var(--line); background: #fff; }
        #summary div { white-space: nowrap; } #summary b { font-variant-numeric: tabular-nums; }
        #summary ul { margin: 0; padding-left: 18px; white-space: normal; }
        main { display: grid; grid-template-columns: minmax(360px, 34%) 1fr; min-height: 0; }
        main > section { min-width: 0; }
        #timeline { border-right: 1px solid var(--line); }
        .controls { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 6px; }
        .keys { color: var(--muted); font-size: 12px; }
        #event-list { height: min(70vh, 800px); overflow-y: auto; border: 1px solid var(--line); background: #fff; contain: strict; }
        #event-list table { border-collapse: collapse; width: 100%; font-size: 12px; table-layout: fixed; }
        #event-list td { padding: 1px 4px; border-bottom: 1px solid #eee; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        #event-list th { position: sticky; top: 0; background: #f0f0f2; font-weight: 600; text-align: right; padding: 1px 4px; }
        #event-list th.label { text-align: left; }
        #event-list .n { width: 3.4em; } #event-list .p { width: 3.6em; } #event-list .k { width: 6.2em; } #event-list .e { width: 4.6em; }
        #event-list td.n, #event-list td.c, #event-list td.p, #event-list td.k, #event-list td.e { text-align: right; font-variant-numeric: tabular-nums; color: var(--muted); }
        #event-list tr { cursor: pointer; } #event-list tr.sel { background: var(--sel); }
        #event-list tr.finding td.label { color: #b3261e; font-weight: 600; }
        #event-info { margin-bottom: 8px; }
        #event-info .loc { font-family: var(--mono); color: var(--muted); }
        #memory .axis { display: flex; justify-content: space-between; color: var(--muted); font-size: 12px; }
        #memory svg { width: 100%; height: 90px; background: #fff; border: 1px solid var(--line); cursor: crosshair; will-change: transform; }
        #memory .plot { position: relative; overflow: hidden; }
        #memory-mark { position: absolute; top: 1px; left: 1px; right: 1px; height: 88px; border-left: 1px solid #b3261e;
          pointer-events: none; will-change: transform; }
        .table { margin: 10px 0; background: #fff; border: 1px solid var(--line); padding: 6px; overflow-x: auto; }
        #tables .table { content-visibility: auto; contain-intrinsic-size: auto 300px; }
        .table h3 { font-size: 13px; margin: 0 0 4px; }
        .troot, .pte { font-family: var(--mono); font-size: 12px; white-space: pre; }
        .pte { display: flex; gap: 12px; padding: 0 4px; }
        .pte .va { color: var(--muted); min-width: 9ch; text-align: right; }
        .pte .bits { letter-spacing: 1px; }
        .pte .was { color: var(--muted); }
        .pte.added { background: var(--add); } .pte.changed { background: var(--chg); }
        .pte.removed { background: var(--del); text-decoration: line-through; text-decoration-color: #b3261e88; }
        details > summary { list-style: none; cursor: pointer; } details > summary::-webkit-details-marker { display: none; }
        details > summary .vm::before { content: "▸ "; color: var(--muted); } details[open] > summary .vm::before { content: "▾ "; }
        .leafmark::before { content: "  "; }
        .legend span { padding: 0 6px; margin-right: 6px; font-size: 12px; }
        #findings ul { margin: 4px 0; padding-left: 20px; }
        .muted { color: var(--muted); }
        .owners { font-size: 12px; margin: 4px 0; }
        .owners .owner { display: inline-block; margin-right: 14px; white-space: nowrap; }
        .owners .muted { margin-right: 8px; }
        .owners i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
        .owners .byproc { border-collapse: collapse; margin-top: 2px; }
        .byproc th, .byproc td { padding: 0 0 0 14px; text-align: right; font-variant-numeric: tabular-nums; }
        .byproc th:first-child, .byproc td:first-child { padding-left: 0; }
        .byproc th { font-weight: 600; color: var(--muted); }
        #departure .sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
        #departure .side { background: #fff; border: 1px solid var(--line); padding: 6px; min-width: 0; overflow-x: auto; }
        #departure h4 { margin: 0 0 4px; font-size: 13px; }
        .dline { font-family: var(--mono); font-size: 12px; white-space: pre; }
        .dline .n { display: inline-block; min-width: 6ch; text-align: right; margin-right: 8px; color: var(--muted); }
        .dline.here { background: var(--del); font-weight: 600; }
        .contradicted { background: var(--del); }
        .why { font-size: 12px; color: #b3261e; padding-left: 4ch; }
        .kwrote { background: var(--chg); }
        .kwhy { font-size: 12px; color: #5b4a00; padding-left: 4ch; }
        @media (max-width: 800px) {
          main { grid-template-columns: 1fr; }
          #timeline { border-right: none; border-bottom: 1px solid var(--line); }
          #event-list { height: 35vh; }
          #departure .sides { grid-template-columns: 1fr; }
          .pte { gap: 6px; } .pte .va { display: none; }
        }
        """
}
