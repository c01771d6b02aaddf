import XV6
import RISCV
import Support
import Scenario
import Run

/// Pages allocated, stacked by owner, against event number (free pages on the right axis),
/// as an SVG drawn by hand (no external tools): what a leak looks like over a run.
public struct MemoryPlot: Sendable {
    public struct Sample: Sendable {
        public var event: Int
        public var free: Int
        public var owners: [OwnerKind: Int]
        public var leaked: Int
    }

    public var scenario: CompiledScenario
    public var samples: [Sample] = []
    public var totalPages = 0
    public var panic: (event: Int, message: String)?
    /// Free pages after every event that ran.
    public var freeAfter: [Int] = []

    /// Runs `scenario`, sampling the owners about `points` times.
    public init(scenario: CompiledScenario, points: Int = 300) {
        self.scenario = scenario
        // Sample every `every` events; when the samples double, keep every other one and
        // sample half as often, so a run that stops early still gets `points` to 2·`points`.
        var every = 1
        var samples: [Sample] = []
        var total = 0
        let (result, kernel) = Runner.run(scenario, writer: nil, afterEvent: { index, k in
            if total == 0 { total = k.freePages + k.allocatedPages }
            if index % every == 0 || index == scenario.events.count - 1 {
                let o = k.ownership(classifyLeaks: false)
                samples.append(Sample(event: index, free: k.freePages, owners: o.pages, leaked: o.leaked))
                if samples.count >= 2 * points {
                    samples = samples.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
                    every *= 2
                }
            }
        })
        if let k = kernel, let last = result.panicEvent, samples.last?.event != last {
            let o = k.ownership(classifyLeaks: false)
            samples.append(Sample(event: last, free: k.freePages, owners: o.pages, leaked: o.leaked))
        }
        self.samples = samples
        freeAfter = result.freeAfter
        totalPages = total
        if let p = result.panic, let e = result.panicEvent { panic = (e, p.message) }
    }

    static let colours: [OwnerKind: String] = [
        .kernelTables: "#8c8c8c", .kernelStacks: "#b0b0b0", .userMemory: "#4e79a7", .userPageTables: "#76b7b2",
        .processKernelTables: "#f28e2b", .processKernelStacks: "#edc948", .trapframes: "#b07aa1", .zombies: "#9c755f", .pipes: "#ff9da7", .beingBuilt: "#bab0ac",
    ]

    /// Round tick values from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten,
    /// about `count` of them.
    package static func ticks(upTo max: Int, count: Int = 5) -> [Int] {
        let raw = Double(Swift.max(max, 1)) / Double(count)
        var p = 1.0
        while p * 10 <= raw { p *= 10 }
        let step = Int([1.0, 2.0, 5.0, 10.0].map { $0 * p }.first { $0 >= raw } ?? p * 10)
        let top = (Swift.max(max, 1) + step - 1) / step * step
        return Array(stride(from: 0, through: top, by: step))
    }

    /// A few words for an event, as a student names it: `fork 1→2`, `exec 2`, `wait 1`.
    static func shortLabel(_ e: Event) -> String { e.spec.shortLabel(e) }

    /// Where things go on the page: the plot area, and the axes' scales.
    package struct Frame {
        var w: Double, h: Double, left: Double, top: Double, pw: Double, ph: Double
        var maxEvent: Int, maxY: Int, labelled: Bool
        func x(_ e: Int) -> Double { left + pw * Double(e) / Double(maxEvent) }
        func y(_ v: Int) -> Double { top + ph * (1 - Double(v) / Double(maxY)) }
    }

    static func f(_ d: Double) -> String { String(Double(Int(d * 10)) / 10) }

    /// A label on a white box, so that no line or area drawn under it hides a letter. The
    /// box's width is estimated from the text (12 px sans-serif: about 7 px a character,
    /// 7.6 bold).
    static func label(_ text: String, x: Double, y: Double, anchor: String, colour: String, bold: Bool = false) -> [String] {
        let width = Double(text.count) * (bold ? 7.6 : 7.0) + 6
        let bx = anchor == "end" ? x - width + 3 : anchor == "middle" ? x - width / 2 : x - 3
        return [#"<rect x="\#(f(bx))" y="\#(f(y - 12))" width="\#(f(width))" height="16" fill="white"/>"#,
                #"<text x="\#(f(x))" y="\#(f(y))" text-anchor="\#(anchor)" fill="\#(colour)"\#(bold ? #" font-weight="bold""# : "")>\#(escape(text))</text>"#]
    }

    /// The stacked layers: owners from the bottom, then leaked pages; kinds never seen left out.
    var layers: [(name: String, colour: String, value: (Sample) -> Int)] {
        (OwnerKind.allCases.map { k in (k.name, Self.colours[k]!, { $0.owners[k] ?? 0 }) }
            + [("leaked (no live owner)", "#e15759", { $0.leaked })]).filter { layer in samples.contains { layer.2($0) > 0 } }
    }

    /// The SVG document: allocated pages stacked by owner against event number, the left
    /// axis scaled to them and the right one giving the free pages at the same heights.
    public var svg: String {
        let events = freeAfter.count
        let labelled = events <= 40
        // The legend's column is as wide as its longest entry, so none is cut off.
        let longest = layers.map(\.name.count).max() ?? 0
        let right = max(330.0, 90 + 26 + 7.0 * Double(max(longest, 22)) + 16)
        let left = 80.0, pw = 630.0, top = 66.0, bottom = labelled ? 120.0 : 60.0
        let h = labelled ? 616.0 : 556.0
        let allocated = samples.map { totalPages - $0.free }
        var yTicks = Self.ticks(upTo: max(1, allocated.max() ?? 1))
        if yTicks.last! > totalPages && totalPages > 0 {
            // Never above all of RAM: the right axis would count negative free pages.
            yTicks = yTicks.filter { $0 <= totalPages }
            if totalPages - yTicks.last! < yTicks[1] / 2 { yTicks.removeLast() }
            yTicks.append(totalPages)
        }
        let fr = Frame(w: left + pw + right, h: h, left: left, top: top, pw: pw, ph: h - top - bottom,
                       maxEvent: max(1, events - 1), maxY: yTicks.last!, labelled: labelled)
        var out = heading(fr)
        out += areas(fr, yTicks: yTicks)
        out += axes(fr, yTicks: yTicks)
        out += marks(fr)
        out += legend(fr)
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    /// The document's start, its title and the settings that differ from the variant.
    func heading(_ fr: Frame) -> [String] {
        let f = Self.f
        var out = [#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(fr.w))" height="\#(Int(fr.h))" viewBox="0 0 \#(Int(fr.w)) \#(Int(fr.h))" font-family="sans-serif" font-size="12">"#,
                   #"<rect width="100%" height="100%" fill="white"/>"#,
                   #"<text x="\#(f(fr.left))" y="24" font-size="16" font-weight="bold">\#(escape(scenario.file)): pages allocated, by owner, per event (\#(escape(scenario.config.variant)))</text>"#]
        let preset = KernelSettings.preset(named: scenario.config.variant) ?? .xv6_2020
        let changed = zip(scenario.config.settings.listed, preset.listed).filter { $0.0.value != $0.1.value }.map { "\($0.0.key): \($0.0.value)" }
        if !changed.isEmpty {
            out.append(#"<text x="\#(f(fr.left))" y="40" fill="rgb(85,85,85)">\#(escape(changed.joined(separator: ", ")))</text>"#)
        }
        return out
    }

    /// Grid lines, the stacked areas, and the line of pages allocated after every event.
    func areas(_ fr: Frame, yTicks: [Int]) -> [String] {
        let f = Self.f
        var out: [String] = []
        for v in yTicks.dropFirst() {
            out.append(#"<line x1="\#(f(fr.left))" y1="\#(f(fr.y(v)))" x2="\#(f(fr.left + fr.pw))" y2="\#(f(fr.y(v)))" stroke="rgb(230,230,230)"/>"#)
        }
        var base = samples.map { _ in 0 }
        for (_, colour, value) in layers {
            let tops = samples.indices.map { base[$0] + value(samples[$0]) }
            if zip(tops, base).allSatisfy({ $0 == $1 }) { continue }
            var pts = samples.indices.map { "\(f(fr.x(samples[$0].event))),\(f(fr.y(tops[$0])))" }
            pts += samples.indices.reversed().map { "\(f(fr.x(samples[$0].event))),\(f(fr.y(base[$0])))" }
            out.append(#"<polygon points="\#(pts.joined(separator: " "))" fill="\#(colour)" stroke="none"/>"#)
            base = tops
        }
        let events = freeAfter.count
        let step = max(1, events / 2000)
        let line = stride(from: 0, to: events, by: step).map { "\(f(fr.x($0))),\(f(fr.y(totalPages - freeAfter[$0])))" }.joined(separator: " ")
        out.append(#"<polyline points="\#(line)" fill="none" stroke="black" stroke-width="2"/>"#)
        return out
    }

    /// Both axes, their ticks and names, and the events along the bottom.
    func axes(_ fr: Frame, yTicks: [Int]) -> [String] {
        let f = Self.f
        let (left, top, pw, ph) = (fr.left, fr.top, fr.pw, fr.ph)
        var out = [#"<line x1="\#(f(left))" y1="\#(f(top + ph))" x2="\#(f(left + pw))" y2="\#(f(top + ph))" stroke="black"/>"#,
                   #"<line x1="\#(f(left))" y1="\#(f(top))" x2="\#(f(left))" y2="\#(f(top + ph))" stroke="black"/>"#,
                   #"<line x1="\#(f(left + pw))" y1="\#(f(top))" x2="\#(f(left + pw))" y2="\#(f(top + ph))" stroke="black"/>"#]
        for v in yTicks {
            out.append(#"<line x1="\#(f(left - 5))" y1="\#(f(fr.y(v)))" x2="\#(f(left))" y2="\#(f(fr.y(v)))" stroke="black"/>"#)
            out.append(#"<text x="\#(f(left - 8))" y="\#(f(fr.y(v) + 4))" text-anchor="end">\#(v)</text>"#)
            out.append(#"<line x1="\#(f(left + pw))" y1="\#(f(fr.y(v)))" x2="\#(f(left + pw + 5))" y2="\#(f(fr.y(v)))" stroke="black"/>"#)
            out.append(#"<text x="\#(f(left + pw + 8))" y="\#(f(fr.y(v) + 4))">\#(totalPages - v)</text>"#)
        }
        if fr.labelled {
            // Every event, named, under its tick.
            for i in 0..<freeAfter.count {
                out.append(#"<line x1="\#(f(fr.x(i)))" y1="\#(f(top + ph))" x2="\#(f(fr.x(i)))" y2="\#(f(top + ph + 5))" stroke="black"/>"#)
                let label = "\(i) " + Self.shortLabel(scenario.events[i])
                out.append(#"<text x="\#(f(fr.x(i) + 4))" y="\#(f(top + ph + 14))" text-anchor="end" transform="rotate(-45 \#(f(fr.x(i) + 4)) \#(f(top + ph + 14)))">\#(escape(label))</text>"#)
            }
        } else {
            for e in Self.ticks(upTo: fr.maxEvent) where e <= fr.maxEvent {
                out.append(#"<line x1="\#(f(fr.x(e)))" y1="\#(f(top + ph))" x2="\#(f(fr.x(e)))" y2="\#(f(top + ph + 5))" stroke="black"/>"#)
                out.append(#"<text x="\#(f(fr.x(e)))" y="\#(f(top + ph + 20))" text-anchor="middle">\#(e)</text>"#)
            }
            out.append(#"<text x="\#(f(left + pw / 2))" y="\#(f(fr.h - 15))" text-anchor="middle">event number</text>"#)
        }
        out.append(#"<text x="20" y="\#(f(top + ph / 2))" text-anchor="middle" transform="rotate(-90 20 \#(f(top + ph / 2)))">pages allocated</text>"#)
        let rx = left + pw + 60
        out.append(#"<text x="\#(f(rx))" y="\#(f(top + ph / 2))" text-anchor="middle" transform="rotate(90 \#(f(rx)) \#(f(top + ph / 2)))">free pages (of \#(totalPages))</text>"#)
        return out
    }

    /// The baseline, the expectations and the panic, each labelled on a white box; the
    /// panic's label sits above the plot, where no data runs.
    func marks(_ fr: Frame) -> [String] {
        let f = Self.f
        let blue = "rgb(0,102,204)", red = "rgb(204,0,0)"
        var out: [String] = []
        for (i, e) in scenario.events.enumerated() where i < freeAfter.count {
            if case .baseline = e.kind {
                let v = totalPages - freeAfter[i]
                out.append(#"<line x1="\#(f(fr.x(i)))" y1="\#(f(fr.y(v)))" x2="\#(f(fr.left + fr.pw))" y2="\#(f(fr.y(v)))" stroke="\#(blue)" stroke-dasharray="4 3"/>"#)
                // Above the line, or below it when the line is at the top.
                let ly = fr.y(v) - 18 < fr.top ? fr.y(v) + 16 : fr.y(v) - 5
                out += Self.label("baseline (event \(i)): \(totalPages - v) free", x: fr.left + fr.pw - 5, y: ly, anchor: "end", colour: blue)
            }
            if case .expect = e.kind {
                out.append(#"<line x1="\#(f(fr.x(i)))" y1="\#(f(fr.top))" x2="\#(f(fr.x(i)))" y2="\#(f(fr.top + fr.ph))" stroke="\#(blue)" stroke-dasharray="2 3"/>"#)
                out += Self.label("expect", x: fr.x(i) + 4, y: fr.top + 14, anchor: "start", colour: blue)
            }
        }
        if let p = panic {
            let x = fr.x(p.event)
            out.append(#"<line x1="\#(f(x))" y1="\#(f(fr.top - 4))" x2="\#(f(x))" y2="\#(f(fr.top + fr.ph))" stroke="\#(red)" stroke-width="2" stroke-dasharray="6 4"/>"#)
            let text = "panic: \(p.message) (event \(p.event))"
            // Left of the line when it fits there, else right of it.
            let fits = x - Double(text.count) * 7.6 > fr.left
            out += Self.label(text, x: fits ? x - 4 : x + 4, y: fr.top - 8, anchor: fits ? "end" : "start", colour: red, bold: true)
        }
        return out
    }

    /// The legend, right of the free pages' axis: the line, then each layer, top first.
    func legend(_ fr: Frame) -> [String] {
        let f = Self.f
        let lx = fr.left + fr.pw + 90
        var ly = fr.top
        var out = [#"<line x1="\#(f(lx))" y1="\#(f(ly + 6))" x2="\#(f(lx + 20))" y2="\#(f(ly + 6))" stroke="black" stroke-width="2"/>"#,
                   #"<text x="\#(f(lx + 26))" y="\#(f(ly + 10))">allocated (all owners)</text>"#]
        for (name, colour, _) in layers.reversed() {
            ly += 20
            out.append(#"<rect x="\#(f(lx))" y="\#(f(ly))" width="20" height="12" fill="\#(colour)"/>"#)
            out.append(#"<text x="\#(f(lx + 26))" y="\#(f(ly + 10))">\#(escape(name))</text>"#)
        }
        return out
    }

    func escape(_ s: String) -> String { Self.escape(s) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
