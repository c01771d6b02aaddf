import Support
import Scenario
import Run
extension RunReport {
    /// The script's timeline: the rows of the events the filters let through, of which only
    /// those in view (and a few around them) are in the page. A browser took 0.6 s to lay out
    /// the 9,611 rows of a large report at once; it lays out some 80 at a time.
    static let scriptTimeline = #"""

        let rowHeight = 0, drawnRows = [0, 0, -1], rowOf = new Map();
        const isFinding = new Set(findingEvents);
        function eventRow(i) {
          const [label, loc, pid, ka, kf] = D.events[i];
          const tr = el("tr"), n = cost[i];
          tr.dataset.event = i; tr.dataset.pid = pid === null ? "" : pid; tr.dataset.kind = D.events[i][7];
          tr.title = loc + "  " + label;
          tr.append(el("td", "n", String(i)), el("td", "label", label), el("td", "p", pid === null ? "" : String(pid)),
                    el("td", "k", (ka ? "+" + ka : "") + (kf ? " −" + kf : "")), el("td", "e", n ? String(n) : ""));
          if (isFinding.has(i)) tr.classList.add("finding");
          if (i === selected) tr.classList.add("sel");
          return tr;
        }
        function gapRow(height) {
          const tr = el("tr", "gap"), td = el("td");
          td.colSpan = 5; td.style.height = height + "px";
          tr.append(td);
          return tr;
        }
        // The rows in view, with 10 before and after; again only when those in view were not drawn
        // (or when forced). A row drawn before is kept. (With 30, laying out the rows was a fifth
        // of a far jump's time.)
        function drawRows(force) {
          const box = document.getElementById("event-list"), body = box.querySelector("tbody");
          if (!rowHeight) {
            body.replaceChildren(...shown.slice(0, 40).map(eventRow));
            rowOf = new Map();
            const r = body.rows;
            rowHeight = r.length > 1 ? (r[r.length - 1].getBoundingClientRect().bottom - r[0].getBoundingClientRect().top) / r.length : 20;
            if (!(rowHeight > 0)) rowHeight = 20;
          }
          const top = box.scrollTop, h = box.clientHeight || 800;
          const from = Math.floor(top / rowHeight), to = Math.min(shown.length, Math.ceil((top + h) / rowHeight));
          const [f0, l0, n0] = drawnRows;
          if (!force && n0 === shown.length && f0 <= from && to <= l0) return;
          const first = Math.max(0, from - 10), last = Math.min(shown.length, to + 10);
          drawnRows = [first, last, shown.length];
          const rows = [], kept = new Map();
          if (first > 0) rows.push(gapRow(first * rowHeight));
          for (let k = first; k < last; k++) {
            const i = shown[k], tr = rowOf.get(i) || eventRow(i);
            kept.set(i, tr); rows.push(tr);
          }
          if (last < shown.length) rows.push(gapRow((shown.length - last) * rowHeight));
          rowOf = kept;
          let at = body.firstChild;
          for (const n of rows) { if (n === at) at = at.nextSibling; else body.insertBefore(n, at); }
          while (at) { const next = at.nextSibling; at.remove(); at = next; }
        }
        // Scrolls the timeline just enough to show event i's row (below the sticky heading), and marks it.
        function revealRow(i) {
          const box = document.getElementById("event-list"), body = box.querySelector("tbody");
          body.querySelectorAll("tr.sel").forEach(tr => tr.classList.remove("sel"));
          const k = shown.indexOf(i);
          if (k >= 0) {
            const head = box.querySelector("thead").offsetHeight;
            const lo = head + (k + 1) * rowHeight - box.clientHeight, hi = k * rowHeight;
            if (box.scrollTop > hi) box.scrollTop = hi;
            else if (box.scrollTop < lo) box.scrollTop = Math.ceil(lo);
          }
          drawRows();
          const tr = body.querySelector('tr[data-event="' + i + '"]');
          if (tr) tr.classList.add("sel");
        }
        function drawTimeline() {
          const sel = document.getElementById("pid-filter");
          const pids = [...new Set(D.events.map(e => e[2]).filter(p => p !== null))].sort((a, b) => a - b);
          for (const p of pids) { const o = el("option", "", "pid " + p); o.value = p; sel.append(o); }
          sel.addEventListener("change", () => { filterEvents(); history.replaceState(null, "", hashOf(selected)); });
          const ks = document.getElementById("kind-filter");
          const count = new Map();
          for (const e of D.events) count.set(e[7], (count.get(e[7]) || 0) + 1);
          for (const k of [...count.keys()].sort()) { const o = el("option", "", k + " (" + count.get(k) + ")"); o.value = k; ks.append(o); }
          ks.addEventListener("change", () => { filterEvents(); history.replaceState(null, "", hashOf(selected)); });
          const t = el("table"), body = el("tbody");
          const head = el("thead"), hr = el("tr");
          hr.append(el("th", "n", "#"), el("th", "label", "event"), el("th", "p", "pid"), el("th", "k", "pages"), el("th", "e", "PTEs"));
          head.append(hr);
          t.append(head, body);
          body.addEventListener("click", ev => { const tr = ev.target.closest("tr[data-event]"); if (tr) select(+tr.dataset.event); });
          const box = document.getElementById("event-list");
          box.append(t);
          let pending = false;
          box.addEventListener("scroll", () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; drawRows(); }); } }, { passive: true });
          filterEvents();
        }
        function filterEvents() {
          const p = document.getElementById("pid-filter").value, k = document.getElementById("kind-filter").value;
          shown = [];
          D.events.forEach((e, i) => { if ((!p || String(e[2] ?? "") === p) && (!k || e[7] === k)) shown.push(i); });
          drawRows(true);
        }
        """#
}
