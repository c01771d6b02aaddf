import Support
import Scenario
import Run
extension RunReport {
    /// The page's script. It keeps the table pages as they are after the selected event,
    /// and moves event by event: forward it writes each change's new values, back its old.
    static let script = #"""
        "use strict";
        const D = JSON.parse(document.getElementById("data").textContent);
        const M64 = (1n << 64n) - 1n;
        let pages = new Map();              // page number -> 512 PTEs (see read)
        const versions = new Map();         // page number -> a count that grows with each change to it
        const before = new Map();           // while goTo runs: each page it wrote, as it was before (null: none)
        let writes = 0;
        let applied = -1, selected = 0, shown = [], memorySeries = [];
        const findingEvents = [...new Set(D.findings.map(f => f[0]))].sort((a, b) => a - b);
        const hex16 = v => "0x" + v.toString(16).padStart(16, "0");
        const TOP = 2 ** 53;
        // A PTE is a number while JavaScript holds it exactly, else a BigInt.
        const norm = b => { b &= M64; return b < BigInt(TOP) ? Number(b) : b; };
        const read = v => typeof v === "number" ? v : norm(BigInt("0x" + v));
        const stepOf = v => typeof v === "number" ? v : BigInt("0x" + v);
        function plus(v, s, k) {
          if (typeof v === "number" && typeof s === "number") { const r = v + k * s; if (r >= 0 && r < TOP) return r; }
          return norm(BigInt(v) + BigInt(k) * BigInt(s));
        }

        function pageOf(n) {
          let a = pages.get(n);
          if (!a) { a = new Array(512).fill(0); pages.set(n, a); }
          return a;
        }
        function runs(i, f, list = D.events[i][6]) {  // f(page, index, count, old, oldStep, new, newStep)
          for (const c of list) {
            if (c.length === 4) f(c[0], c[1], 1, read(c[2]), 0, read(c[3]), 0);
            else f(c[0], c[1], c[2], read(c[3]), stepOf(c[4]), read(c[5]), stepOf(c[6]));
          }
        }
        function apply(i, forward) {
          const list = [];
          runs(i, (p, x, n, o, os, w, ws) => list.push([p, x, n, forward ? w : o, forward ? ws : os]));
          if (!forward) list.reverse();
          for (const [p, x, n, v0, st] of list) {
            if (!before.has(p)) { const b = pages.get(p); before.set(p, b ? b.slice() : null); }
            const a = pageOf(p);
            if (typeof v0 === "number" && typeof st === "number" && v0 + (n - 1) * st < TOP && v0 + (n - 1) * st >= 0) {
              for (let k = 0, v = v0; k < n; k++, v += st) a[x + k] = v;
            } else for (let k = 0; k < n; k++) a[x + k] = plus(v0, st, k);
          }
        }
        // The entries each event writes, and their sums from event 0: what moving between two events costs.
        const cost = D.events.map(e => e[6].reduce((s, c) => s + (c.length === 4 ? 1 : c[2]), 0));
        const upTo = [0];
        for (const c of cost) upTo.push(upTo[upTo.length - 1] + c);
        const work = (from, to) => Math.abs(upTo[to + 1] - upTo[from + 1]);
        // Copies of the pages as they were after an event, one per 8 million entries written (or per a
        // sixteenth of them all), up to 32,768 pages in all, kept on the way forward: a jump starts from
        // the copy (or the current pages, or none) nearest to it.
        const CHECKPOINT = Math.max(8e6, upTo[upTo.length - 1] / 16), checkpoints = new Map([[-1, new Map()]]);
        let copied = 0;
        const copyPages = from => new Map([...from].map(([p, a]) => [p, a.slice()]));
        // The pages as checkpoint cp holds them, written into the arrays in place (a far jump made
        // 640 new ones, and the collector their garbage): only a page that differs is copied first.
        function restore(cp) {
          for (const [p, c] of cp) {
            const a = pages.get(p);
            if (!a) { if (!before.has(p)) before.set(p, null); pages.set(p, c.slice()); continue; }
            let k = 0;
            while (k < 512 && a[k] === c[k]) k++;
            if (k === 512) continue;
            if (!before.has(p)) before.set(p, a.slice());
            for (; k < 512; k++) a[k] = c[k];
          }
          for (const [p, a] of pages) if (!cp.has(p)) { if (!before.has(p)) before.set(p, a); pages.delete(p); }
        }
        function goTo(n) {
          let from = applied, best = work(applied, n);
          for (const c of checkpoints.keys()) if (work(c, n) + 512 * pages.size < best) { from = c; best = work(c, n) + 512 * pages.size; }
          if (from !== applied) {
            restore(checkpoints.get(from));
            applied = from;
          }
          while (applied < n) {
            apply(++applied, true);
            const c = Math.floor(upTo[applied + 1] / CHECKPOINT);
            if (c > Math.floor(upTo[applied] / CHECKPOINT) && !checkpoints.has(applied) && copied + pages.size <= 32768) {
              checkpoints.set(applied, copyPages(pages));
              copied += pages.size;
            }
          }
          while (applied > n) apply(applied--, false);
          // A page's version changes only when its entries did: a far jump that went through a
          // checkpoint, or wrote a page and wrote it back, keeps the tables it did not change drawn.
          for (const [p, b] of before) {
            const a = pages.get(p);
            let k = 0;
            if (a && b) while (k < 512 && a[k] === b[k]) k++;
            if (k < 512) versions.set(p, ++writes);
          }
          before.clear();
        }
        // Event i's changes: pages, the pages it wrote; get(page, index), an entry's [old, new] (the
        // last write's) or undefined, each page's entries decoded when first asked for.
        function changesAt(i) {
          const pages = new Map(), decoded = new Map();
          for (const c of D.events[i][6]) { const l = pages.get(c[0]); if (l) l.push(c); else pages.set(c[0], [c]); }
          const entriesOf = p => {
            if (!decoded.has(p)) {
              const m = pages.has(p) ? new Array(512) : null;
              if (m) runs(i, (p, x, n, o, os, w, ws) => { for (let k = 0; k < n; k++) m[x + k] = [plus(o, os, k), plus(w, ws, k)]; }, pages.get(p));
              decoded.set(p, m);
            }
            return decoded.get(p);
          };
          return { pages, get: (p, x) => { const m = entriesOf(p); return m ? m[x] : undefined; } };
        }
        function procsAt(i) {
          let list = [];
          for (const [e, l] of D.procs) { if (e <= i) list = l; else break; }
          return list;
        }

        // PTE decoding (exact for numbers: only division by powers of two)
        const low = (v, m) => typeof v === "number" ? v % m : Number(v & BigInt(m - 1));
        const valid = v => low(v, 2) === 1;
        const isPointer = v => low(v, 16) === 1;
        const paOf = v => typeof v === "number" ? Math.floor(v / 1024) * 4096 : (v >> 10n) << 12n;
        const childPage = v => typeof v === "number" ? Math.floor(v / 1024) : Number(v >> 10n);
        const BITS = "VRWXUGAD";
        function bits(v) {
          const b = low(v, 512);
          let s = [...BITS].map((c, k) => (b >> k) & 1 ? c : "·").join("");
          if (D.cow) s += (b >> 8) & 1 ? "C" : "·";
          return s;
        }
        function el(tag, cls, text) {
          const e = document.createElement(tag);
          if (cls) e.className = cls;
          if (text !== undefined) e.textContent = text;
          return e;
        }

        // A table as the lab's vmprint tree; a lower table is drawn when its entry is opened.
        function leafCount(n, level, cap) {  // the leaves below page n, counted up to cap
          const a = pages.get(n); if (!a) return 0;
          let c = 0;
          for (const h of a) {
            if (valid(h)) c += level > 0 && isPointer(h) ? leafCount(childPage(h), level - 1, cap - c) : 1;
            if (c > cap) break;
          }
          return c;
        }
        function touched(n, level, ch) {     // whether event ch changed page n or a table below it
          if (ch.pages.has(n)) return true;
          const a = pages.get(n);
          if (!a || level === 0) return false;
          for (const h of a) if (isPointer(h) && touched(childPage(h), level - 1, ch)) return true;
          return false;
        }
        function entries(box, n, level, depth, vaBase, inherited, ch) {
          const a = pages.get(n) || new Array(512).fill(0);
          for (let i = 0; i < 512; i++) {
            // A table new at this event has no values before: what its page held in an earlier
            // life (another table's, freed since) is not shown as "added" zeros.
            const c = inherited === "added" ? undefined : ch.get(n, i);
            const now = a[i], old = c ? c[0] : now;
            if (!valid(now) && !valid(old)) continue;
            const state = inherited || (c ? (valid(old) ? (valid(now) ? "changed" : "removed") : "added") : "");
            const shownV = state === "removed" && c ? old : now;
            const va = vaBase + (BigInt(i) << BigInt(12 + 9 * level));
            const row = el("div", "pte" + (state ? " " + state : ""));
            row.dataset.page = n; row.dataset.index = i;
            row.append(el("span", "va", "0x" + va.toString(16)),
                       el("span", "vm", ".." + " ..".repeat(depth) + i + ": pte " + hex16(shownV) + " pa " + hex16(paOf(shownV))),
                       el("span", "bits", bits(shownV)));
            if (state === "changed") row.append(el("span", "was", "was " + hex16(old)));
            if (state === "removed" && c && valid(now)) row.append(el("span", "was", "now " + hex16(now)));
            if (level > 0 && isPointer(shownV)) {
              const child = childPage(shownV);
              const d = el("details"), s = el("summary"), inner = el("div");
              s.append(row); d.append(s, inner);
              const sub = state === "added" || state === "removed" ? state : inherited;
              let filled = false;
              const fill = () => { if (!filled) { filled = true; entries(inner, child, level - 1, depth + 1, va, sub, ch); } };
              d.addEventListener("toggle", () => { if (d.open) fill(); });
              const leaves = leafCount(child, level - 1, 512);
              if (leaves <= 64 || (!sub && leaves <= 512 && touched(child, level - 1, ch))) { d.open = true; fill(); }
              box.append(d);
            } else {
              row.firstChild.nextSibling.classList.add("leafmark");
              box.append(row);
            }
          }
        }
        // The tables after event i. A table drawn before is kept (not drawn again) while nothing in its
        // pages was written since and the event marks nothing in it: most events change one or two.
        let drawn = new Map(), legend = null;
        function drawTables(i) {
          const box = document.getElementById("tables"), parts = [];
          const ch = changesAt(i), marked = ch.pages;
          if (!legend) {
            legend = el("div", "legend");
            legend.append(el("span", "added", "added"), el("span", "changed", "changed (was …)"), el("span", "removed", "removed"));
            legend.querySelectorAll("span").forEach(s => s.classList.add("pte"));
            legend.style.display = "flex";
          }
          parts.push(legend);
          const kept = new Map();
          const draw = (q, root, what, state, note) => {
            const key = [q[0], what, root, state].join(" ");
            const sig = q[1] + note + " " + tablePages(parseInt(root, 16) / 4096, 2, []).map(p => versions.get(p) + (marked.has(p) ? "*" : "")).join(",");
            const old = drawn.get(key);
            const t = old && old.sig === sig ? old.node : table(q, root, what, state, note, ch);
            kept.set(key, { sig, node: t });
            parts.push(t);
          };
          const pid = D.events[i][2];
          const order = (a, b) => (a[0] !== pid) - (b[0] !== pid) || a[0] - b[0];
          const now = procsAt(i).slice().sort(order), before = i > 0 ? procsAt(i - 1) : [];
          const had = (list, p, k, root) => list.some(q => q[0] === p && q[k] === root);
          const gone = before.flatMap(q => [[q, 2, "user"], [q, 3, "kernel"]])
            .filter(([q, k]) => q[k] !== "0" && !had(now, q[0], k, q[k]) && !now.some(r => r[2] === q[k] || r[3] === q[k]));
          if (!now.length && !gone.length) parts.push(el("p", "muted", "No process is alive after this event."));
          let made = 0;
          for (const q of now) {
            for (const [k, what] of [[2, "user"], [3, "kernel"]]) {
              if (q[k] === "0") continue;
              const fresh = i > 0 && !had(before, q[0], k, q[k]);
              if (fresh) made++;
              draw(q, q[k], what, fresh ? "added" : "", fresh ? " (new at this event)" : "");
            }
          }
          for (const [q, k, what] of gone) draw(q, q[k], what, "removed", " (gone at this event)");
          drawn = kept;
          // In place: a kept table that stays where it was is not laid out again.
          let at = box.firstChild;
          for (const n of parts) { if (n === at) at = at.nextSibling; else box.insertBefore(n, at); }
          while (at) { const next = at.nextSibling; at.remove(); at = next; }
          return [made, gone.length];
        }
        function tablePages(n, level, out) {  // page n and the pages of its lower tables
          out.push(n);
          const a = pages.get(n);
          if (a && level > 0) for (const h of a) if (isPointer(h)) tablePages(childPage(h), level - 1, out);
          return out;
        }
        function table([pid, name], root, what, state, note, ch) {
          const t = el("div", "table" + (state ? " " + state : ""));
          t.dataset.pid = pid; t.dataset.kind = what;
          t.append(el("h3", "", "pid " + pid + (name ? ", p->name \"" + name + "\"" : "") + ": " + what + " page table" + note),
                   el("div", "troot", "page table " + hex16(root)));
          entries(t, parseInt(root, 16) / 4096, 2, 0, 0n, state, ch);
          return t;
        }
        """# + scriptTimeline + scriptViews
}
