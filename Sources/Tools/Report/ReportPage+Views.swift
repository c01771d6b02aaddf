import Support
import Scenario
import Run
extension RunReport {
    /// The script's views: the summary, memory over time, the findings, and
    /// the selection (keys, clicks, `#event=N`).
    static let scriptViews = #"""

        function eventLink(i) { const a = el("a", "", "event " + i); a.href = "#event=" + i; return a; }
        function drawSummary() {
          const s = document.getElementById("summary");
          const item = (label, value, id) => { const d = el("div"); d.append(label + " "); const b = el("b", "", String(value)); if (id) b.id = id; d.append(b); s.append(d); return d; };
          if (D.isLog) item("kernel log", D.source, "sum-log"); else item("scenario", D.source, "sum-scenario");
          item("variant", D.variant, "sum-variant");
          item("settings", D.settings.length ? D.settings.map(([k, v]) => k + "=" + v).join(" ") : "as the variant", "sum-settings");
          item("events", D.events.length + (D.events.length < D.eventCount ? " of " + D.eventCount : ""), "sum-events");
          item("pages allocated", D.kallocs, "sum-kallocs");
          item("freed", D.kfrees, "sum-kfrees");
          item("free at the end", D.freeAtEnd + " of " + D.totalPages, "sum-free");
          const leaked = D.leaks.reduce((n, l) => n + l[1].length, 0);
          item("leaked", leaked, "sum-leaked");
          if (D.replay) {
            item("replay", D.replay.agrees ? "agrees" : "departs", "sum-replay");
            item("events compared", D.replay.compared.reduce((n, c) => n + c[1], 0), "sum-compared");
            item("log read to line", D.replay.readToLine + (D.replay.readWhole ? " (its end)" : ""), "sum-read");
          }
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
          if (D.replay && D.replay.departure) drawDeparture(box, D.replay.departure);
          for (const [site, list] of D.leaks) {
            box.append(el("h3", "", list.length + " leaked page" + (list.length === 1 ? "" : "s") + " allocated by " + site));
            const l = el("ul");
            for (const [pa, e] of list.slice(0, 200)) { const li = el("li"); li.append(hex16(pa) + " allocated at ", eventLink(e)); l.append(li); }
            if (list.length > 200) l.append(el("li", "muted", "and " + (list.length - 200) + " more"));
            box.append(l);
          }
        }
        // Where the kernel and the model part: each side's lines around it, then the model's tables there.
        function drawDeparture(box, d) {
          const sec = el("div"); sec.id = "departure";
          sec.append(el("h3", "", "Where the kernel and the model part"));
          const head = el("p"); head.append(d.event === null ? "" : eventLink(d.event), (d.event === null ? "" : ": ") + "in the " + d.stream + " events: " + d.verdict);
          sec.append(head);
          if (d.operation) sec.append(el("p", "muted", "under way: " + d.operation));
          const sides = el("div", "sides");
          const side = (title, rows, counts, attr) => {
            const c = el("div", "side"); c.append(el("h4", "", title));
            for (const [n, text, here] of rows) {
              const row = el("div", "dline" + (here ? " here" : ""));
              row.dataset[attr] = n;
              row.append(el("span", "n", String(n)), el("span", "", (here ? "> " : "  ") + text));
              c.append(row);
            }
            if (counts) c.append(el("div", "muted", "in that operation: " + counts));
            return c;
          };
          sides.append(side("the kernel (log line)", d.kernel, d.kernelCounts, "line"), side("the model (event)", d.model, d.modelCounts, "event"));
          sec.append(sides);
          if (d.tables.length) sec.append(el("p", "muted", d.tablesTitle));
          for (const t of d.tables) {
            sec.append(el("h3", "", t.name + " (" + t.total + " PTE" + (t.total === 1 ? "" : "s") + " in the model's" + (t.whole ? "" : "; only the paths to marked ones shown") + ")"));
            const pair = el("div", "sides");
            const tb = el("div", "side dtable");
            tb.append(el("h4", "", "the model's"));
            const root = el("div", "troot" + (t.rootMark ? " contradicted" : ""), (t.rootMark ? "! " : "  ") + "page table " + hex16(BigInt("0x" + t.root)) + (t.freed ? " (the model has freed it)" : ""));
            tb.append(root);
            if (t.rootMark) tb.append(el("div", "why", "log line " + t.rootMark[0] + ": " + t.rootMark[1]));
            for (const [depth, index, pte, va, mark] of t.rows) {
              const v = read(pte);
              const row = el("div", "pte dpte" + (mark ? " contradicted" : ""));
              row.append(el("span", "va", "0x" + va), el("span", "vm", (mark ? "! " : "  ") + ".." + " ..".repeat(depth) + index + ": pte " + hex16(v) + " pa " + hex16(paOf(v))), el("span", "bits", bits(v)));
              tb.append(row);
              if (mark) tb.append(el("div", "why", "log line " + mark[0] + ": " + mark[1]));
            }
            for (const [line, why] of t.missing.slice(0, 8)) tb.append(el("div", "why", "! log line " + line + ": " + why));
            if (t.missing.length > 8) tb.append(el("div", "why", "... and " + (t.missing.length - 8) + " more of the kernel's maps and unmaps the model has no PTE for"));
            pair.append(tb, drawKernelSide(t));
            sec.append(pair);
          }
          box.append(sec);
        }
        // The same table as the kernel's log says it is: the model's PTEs where the two agreed,
        // with the kernel's own maps and unmaps from the departing line on (at most 200 rows).
        function drawKernelSide(t) {
          const kb = el("div", "side dtable ktable");
          kb.append(el("h4", "", "the kernel's, as its log says"));
          kb.append(el("div", "troot", "  page table " + hex16(BigInt("0x" + t.root))));
          let said = "";
          for (const [depth, index, pte, va, mark, gone] of t.kernelRows.slice(0, 200)) {
            const v = pte === null ? null : read(pte);
            const row = el("div", "pte dpte" + (gone ? " removed" : mark ? (v !== null && mark[1].startsWith("your kernel frees") ? " contradicted" : " kwrote") : ""));
            const text = v === null ? "pte ? (a page of the kernel's)" : "pte " + hex16(v) + " pa " + hex16(paOf(v));
            row.append(el("span", "va", "0x" + va), el("span", "vm", (mark ? "> " : "  ") + ".." + " ..".repeat(depth) + index + ": " + text), el("span", "bits", v === null ? "" : bits(v)));
            kb.append(row);
            // A map's or unmap's rows say their line once, at the first of them.
            const why = mark ? "log line " + mark[0] + ": " + mark[1] : "";
            if (why && why !== said) kb.append(el("div", "kwhy", why));
            said = why || said;
          }
          if (t.kernelRows.length > 200) kb.append(el("div", "muted", "... and " + (t.kernelRows.length - 200) + " more"));
          if (!t.kernelRows.some(r => r[4])) kb.append(el("div", "muted", "The kernel's events from the departing line on do not change this table."));
          return kb;
        }
        // Pages in use after each event, stacked by owner (D.series, in order); a click selects the event.
        function drawMemory() {
          const n = D.events.length, W = 1000, H = 80, S = D.series.length;
          const counted = [];
          D.events.forEach((e, i) => { if (e[8]) counted.push(i); });
          const top = Math.max(1, ...counted.map(i => D.events[i][8].reduce((a, b) => a + b, 0)));
          const ns = "http://www.w3.org/2000/svg";
          const svg = document.createElementNS(ns, "svg");
          svg.setAttribute("viewBox", "0 0 " + W + " " + H); svg.setAttribute("preserveAspectRatio", "none");
          const step = Math.max(1, Math.floor(counted.length / 2000));
          const at = [];
          for (let k = 0; k < counted.length; k += step) at.push(counted[k]);
          if (counted.length && at[at.length - 1] !== counted[counted.length - 1]) at.push(counted[counted.length - 1]);
          const x = i => (n === 1 ? W / 2 : i / (n - 1) * W).toFixed(1), y = v => (H - v / top * (H - 4)).toFixed(1);
          const below = at.map(() => 0);
          const used = new Set();
          for (let s = 0; s < S; s++) {
            if (!at.some(i => D.events[i][8][s] > 0)) { at.forEach((i, k) => { below[k] += D.events[i][8][s]; }); continue; }
            used.add(s);
            const lo = at.map((i, k) => x(i) + "," + y(below[k]));
            at.forEach((i, k) => { below[k] += D.events[i][8][s]; });
            const hi = at.map((i, k) => x(i) + "," + y(below[k]));
            const area = document.createElementNS(ns, "polygon");
            area.setAttribute("points", hi.concat(lo.reverse()).join(" "));
            area.setAttribute("fill", D.series[s][1]); area.dataset.series = s;
            svg.append(area);
          }
          // The selected event's mark is drawn over the plot, on its own layer: moving it does not paint the plot again.
          const plot = el("div", "plot"), mark = el("div");
          mark.id = "memory-mark";
          plot.append(svg, mark);
          svg.addEventListener("click", ev => {
            const r = svg.getBoundingClientRect();
            select(Math.round((ev.clientX - r.left) / r.width * Math.max(1, n - 1)));
          });
          const box = document.getElementById("memory");
          const axis = el("div", "axis");
          axis.append(el("span", "", "pages in use by owner (0 to " + top + ") against event 0 to " + (n - 1) + "; click to select"), el("span", "", ""));
          axis.lastChild.id = "memory-now";
          const legend = el("div", "owners");
          legend.id = "owners";
          box.append(axis, plot, legend);
          memorySeries = [...used];
        }
        // The selected event's pages by owner, and each process's.
        function drawOwners(i) {
          const box = document.getElementById("owners");
          if (!box) return;
          box.textContent = "";
          let j = i;
          while (j > 0 && !D.events[j][8]) j--;
          const o = D.events[j][8];
          if (!o) return;
          if (j !== i) box.append(el("span", "muted", "as counted after event " + j + ":"));
          for (const s of memorySeries) {
            const d = el("span", "owner"); d.dataset.series = s;
            const sw = el("i"); sw.style.background = D.series[s][1];
            d.append(sw, D.series[s][0] + " ", el("b", "", String(o[s])));
            box.append(d);
          }
          const procs = D.events[j][9];
          if (!procs.length) return;
          const t = el("table", "byproc"), hr = el("tr");
          for (const h of ["pid", "user memory", "user page tables", "kernel table", "kstack + trapframe", "zombie"]) hr.append(el("th", "", h));
          t.append(hr);
          for (const p of procs) { const tr = el("tr"); tr.dataset.pid = p[0]; for (const v of p) tr.append(el("td", "", String(v))); t.append(tr); }
          box.append(t);
        }
        function select(i, keepHash) {
          i = Math.max(0, Math.min(D.events.length - 1, i | 0));
          selected = i;
          goTo(i);
          const e = D.events[i];
          revealRow(i);
          document.getElementById("detail-title").textContent = "Event " + i + ": " + e[0];
          const info = document.getElementById("event-info");
          info.textContent = "";
          const n = e[6].reduce((s, c) => s + (c.length === 4 ? 1 : c[2]), 0);
          info.append(el("span", "loc", e[1]), " · " + (e[2] === null ? "no process" : "pid " + e[2]) +
                      " · kalloc " + e[3] + " · kfree " + e[4] + " · " + n + " PTE" + (n === 1 ? "" : "s") + " changed · free pages " + e[5]);
          info.dataset.event = i;
          for (const [fe, kind, text] of D.findings) if (fe === i) info.append(el("div", "finding", kind + ": " + text));
          const dep = D.replay && D.replay.departure;
          if (dep && dep.event === i) {
            const a = el("a", "", "the kernel's lines and the model's, side by side ↓"); a.href = "#";
            a.addEventListener("click", ev => { ev.preventDefault(); document.getElementById("departure").scrollIntoView(); });
            info.append(el("div", "", ""), a);
          }
          const m = document.getElementById("memory-mark");
          if (m) m.style.transform = "translateX(" + (i / Math.max(1, D.events.length - 1) * 100).toFixed(3) + "%)";
          const now = document.getElementById("memory-now");
          if (now) now.textContent = (D.totalPages - e[5]) + " in use";
          drawOwners(i);
          const [made, gone] = drawTables(i);
          const plural = n => n + " table" + (n === 1 ? "" : "s");
          if (made || gone) info.append(el("div", "tables-count", (made ? plural(made) + " new" : "") + (made && gone ? " · " : "") + (gone ? plural(gone) + " gone" : "")));
          if (!keepHash) { clearTimeout(hashLater); hashLater = setTimeout(() => history.replaceState(null, "", hashOf(selected)), 250); }
        }
        let hashLater = 0;                   // the address follows the selection once it rests: a browser takes up to 20 ms for each
        // #event=N, with the filters when set: &pid=P&kind=K.
        function hashOf(i) {
          const p = document.getElementById("pid-filter").value, k = document.getElementById("kind-filter").value;
          return "#event=" + i + (p ? "&pid=" + p : "") + (k ? "&kind=" + encodeURIComponent(k) : "");
        }
        function fromHash() {
          const m = /event=(\d+)/.exec(location.hash);
          const p = /[#&]pid=(\d+)/.exec(location.hash), k = /[#&]kind=([^&]+)/.exec(location.hash);
          const set = (id, v) => { const s = document.getElementById(id); if ([...s.options].some(o => o.value === v)) s.value = v; };
          set("pid-filter", p ? p[1] : "");
          set("kind-filter", k ? decodeURIComponent(k[1]) : "");
          filterEvents();
          select(m ? +m[1] : 0, !m);
          // #...&show=departure: the page opens scrolled to where the kernel and the model part.
          if (/[#&]show=departure/.test(location.hash) && document.getElementById("departure")) document.getElementById("departure").scrollIntoView();
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
