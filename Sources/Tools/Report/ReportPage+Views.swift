import Support
import Scenario
import Run
extension RunReport {
    /// The script's views: the summary, the timeline, memory over time, the findings, and
    /// the selection (keys, clicks, `#event=N`).
    static let scriptViews = #"""

        function eventLink(i) { const a = el("a", "", "event " + i); a.href = "#event=" + i; return a; }
        function drawSummary() {
          const s = document.getElementById("summary");
          const item = (label, value, id) => { const d = el("div"); d.append(label + " "); const b = el("b", "", String(value)); if (id) b.id = id; d.append(b); s.append(d); return d; };
          item("scenario", D.scenario, "sum-scenario");
          item("variant", D.variant, "sum-variant");
          item("settings", D.settings.length ? D.settings.map(([k, v]) => k + "=" + v).join(" ") : "as the variant", "sum-settings");
          item("events", D.events.length + (D.events.length < D.eventCount ? " of " + D.eventCount : ""), "sum-events");
          item("pages allocated", D.kallocs, "sum-kallocs");
          item("freed", D.kfrees, "sum-kfrees");
          item("free at the end", D.freeAtEnd + " of " + D.totalPages, "sum-free");
          const leaked = D.leaks.reduce((n, l) => n + l[1].length, 0);
          item("leaked", leaked, "sum-leaked");
          const f = item("findings", D.findings.length, "sum-findings");
          if (D.findings.length) {
            const ul = el("ul");
            for (const [e, kind, text] of D.findings.slice(0, 5)) { const li = el("li"); li.append(eventLink(e), ": " + text); ul.append(li); }
            f.append(ul);
          }
        }
        function drawFindings() {
          const box = document.getElementById("findings");
          box.append(el("h2", "", "Findings"));
          if (!D.findings.length && !D.leaks.length) { box.append(el("p", "muted", "No panic, finding, failed expectation or leak.")); return; }
          const ul = el("ul");
          for (const [e, kind, text] of D.findings) { const li = el("li"); li.append(eventLink(e), " " + kind + ": " + text); ul.append(li); }
          if (D.findings.length) box.append(ul);
          for (const [site, list] of D.leaks) {
            box.append(el("h3", "", list.length + " leaked page" + (list.length === 1 ? "" : "s") + " allocated by " + site));
            const l = el("ul");
            for (const [pa, e] of list.slice(0, 200)) { const li = el("li"); li.append(hex16(pa) + " allocated at ", eventLink(e)); l.append(li); }
            if (list.length > 200) l.append(el("li", "muted", "and " + (list.length - 200) + " more"));
            box.append(l);
          }
        }
        function drawTimeline() {
          const sel = document.getElementById("pid-filter");
          const pids = [...new Set(D.events.map(e => e[2]).filter(p => p !== null))].sort((a, b) => a - b);
          for (const p of pids) { const o = el("option", "", "pid " + p); o.value = p; sel.append(o); }
          sel.addEventListener("change", () => { filterEvents(); });
          const t = el("table"), body = el("tbody");
          const isFinding = new Set(findingEvents);
          D.events.forEach((e, i) => {
            const [label, loc, pid, ka, kf, , ch] = e;
            const n = ch.reduce((s, c) => s + (c.length === 4 ? 1 : c[2]), 0);
            const tr = el("tr", isFinding.has(i) ? "finding" : "");
            tr.dataset.event = i; tr.dataset.pid = pid === null ? "" : pid;
            tr.title = loc + "  " + label;
            tr.append(el("td", "n", String(i)), el("td", "label", label), el("td", "p", pid === null ? "" : String(pid)),
                      el("td", "k", (ka ? "+" + ka : "") + (kf ? " −" + kf : "")), el("td", "e", n ? String(n) : ""));
            body.append(tr);
          });
          const head = el("thead"), hr = el("tr");
          hr.append(el("th", "n", "#"), el("th", "label", "event"), el("th", "p", "pid"), el("th", "k", "pages"), el("th", "e", "PTEs"));
          head.append(hr);
          t.append(head, body);
          body.addEventListener("click", ev => { const tr = ev.target.closest("tr"); if (tr) select(+tr.dataset.event); });
          document.getElementById("event-list").append(t);
          filterEvents();
        }
        function filterEvents() {
          const p = document.getElementById("pid-filter").value;
          shown = [];
          document.querySelectorAll("#event-list tbody tr").forEach(tr => {
            const ok = !p || tr.dataset.pid === p;
            tr.hidden = !ok;
            if (ok) shown.push(+tr.dataset.event);
          });
        }
        function drawMemory() {
          const n = D.events.length, W = 1000, H = 80;
          const used = D.events.map(e => D.totalPages - e[5]);
          const top = Math.max(1, ...used);
          const ns = "http://www.w3.org/2000/svg";
          const svg = document.createElementNS(ns, "svg");
          svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("preserveAspectRatio", "none");
          const step = Math.max(1, Math.floor(n / 2000));
          const pts = [];
          for (let i = 0; i < n; i += step) pts.push((i / Math.max(1, n - 1) * W).toFixed(1) + "," + (H - used[i] / top * (H - 4)).toFixed(1));
          const line = document.createElementNS(ns, "polyline");
          line.setAttribute("points", pts.join(" ")); line.setAttribute("fill", "none"); line.setAttribute("stroke", "#4e79a7"); line.setAttribute("stroke-width", "1.5");
          line.setAttribute("vector-effect", "non-scaling-stroke");
          const mark = document.createElementNS(ns, "line");
          mark.id = "memory-mark"; mark.setAttribute("y1", 0); mark.setAttribute("y2", H); mark.setAttribute("stroke", "#b3261e");
          mark.setAttribute("vector-effect", "non-scaling-stroke");
          svg.append(line, mark);
          svg.addEventListener("click", ev => {
            const r = svg.getBoundingClientRect();
            select(Math.round((ev.clientX - r.left) / r.width * Math.max(1, n - 1)));
          });
          const box = document.getElementById("memory");
          const axis = el("div", "axis");
          axis.append(el("span", "", "pages in use (0 to " + top + ") against event 0 to " + (n - 1) + "; click to select"), el("span", "", ""));
          axis.lastChild.id = "memory-now";
          box.append(axis, svg);
        }
        function select(i, keepHash) {
          i = Math.max(0, Math.min(D.events.length - 1, i | 0));
          selected = i;
          goTo(i);
          const e = D.events[i];
          document.querySelectorAll("#event-list tr.sel").forEach(tr => tr.classList.remove("sel"));
          const tr = document.querySelector('#event-list tr[data-event="' + i + '"]');
          if (tr) { tr.classList.add("sel"); tr.scrollIntoView({ block: "nearest" }); }
          document.getElementById("detail-title").textContent = "Event " + i + ": " + e[0];
          const info = document.getElementById("event-info");
          info.textContent = "";
          const n = e[6].reduce((s, c) => s + (c.length === 4 ? 1 : c[2]), 0);
          info.append(el("span", "loc", e[1]), " · " + (e[2] === null ? "no process" : "pid " + e[2]) +
                      " · kalloc " + e[3] + " · kfree " + e[4] + " · " + n + " PTE" + (n === 1 ? "" : "s") + " changed · free pages " + e[5]);
          info.dataset.event = i;
          for (const [fe, kind, text] of D.findings) if (fe === i) info.append(el("div", "finding", kind + ": " + text));
          const m = document.getElementById("memory-mark");
          if (m) { const x = i / Math.max(1, D.events.length - 1) * 1000; m.setAttribute("x1", x); m.setAttribute("x2", x); }
          const now = document.getElementById("memory-now");
          if (now) now.textContent = (D.totalPages - e[5]) + " in use";
          const [made, gone] = drawTables(i);
          const plural = n => n + " table" + (n === 1 ? "" : "s");
          if (made || gone) info.append(el("div", "tables-count", (made ? plural(made) + " new" : "") + (made && gone ? " · " : "") + (gone ? plural(gone) + " gone" : "")));
          if (!keepHash) history.replaceState(null, "", "#event=" + i);
        }
        function fromHash() {
          const m = /event=(\d+)/.exec(location.hash);
          select(m ? +m[1] : 0, !m);
        }
        document.addEventListener("keydown", ev => {
          if (ev.target.tagName === "SELECT" || ev.altKey || ev.ctrlKey || ev.metaKey) return;
          const k = shown.indexOf(selected);
          if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
            const right = ev.key === "ArrowRight";
            const next = k >= 0 ? shown[k + (right ? 1 : -1)] : shown.find(x => right ? x > selected : false) ?? [...shown].reverse().find(x => x < selected);
            if (next !== undefined) select(next);
            ev.preventDefault();
          } else if (ev.key === "j" || ev.key === "k") {
            const next = ev.key === "j" ? findingEvents.find(x => x > selected) : [...findingEvents].reverse().find(x => x < selected);
            if (next !== undefined) select(next);
          }
        });
        window.addEventListener("hashchange", fromHash);
        drawSummary(); drawTimeline(); drawMemory(); drawFindings(); fromHash();
        """#
}
