import XV6
import RISCV

/// Free pages against event number, with the allocated pages stacked by owner, as an
/// SVG drawn by hand (no external tools): what a leak looks like over a run.
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
        .processKernelTables: "#f28e2b", .processKernelStacks: "#edc948", .trapframes: "#b07aa1", .zombies: "#9c755f", .pipes: "#e15759",
    ]

    /// The SVG document.
    public var svg: String {
        let w = 960.0, h = 540.0, left = 80.0, right = 250.0, top = 50.0, bottom = 60.0
        let pw = w - left - right, ph = h - top - bottom
        let maxEvent = max(1, freeAfter.count - 1)
        let maxY = max(1, totalPages)
        func x(_ e: Int) -> Double { left + pw * Double(e) / Double(maxEvent) }
        func y(_ v: Int) -> Double { top + ph * (1 - Double(v) / Double(maxY)) }
        func f(_ d: Double) -> String { String(Double(Int(d * 10)) / 10) }
        var out: [String] = []
        out.append(#"<svg xmlns="http://www.w3.org/2000/svg" width="\#(Int(w))" height="\#(Int(h))" viewBox="0 0 \#(Int(w)) \#(Int(h))" font-family="sans-serif" font-size="12">"#)
        out.append(#"<rect width="100%" height="100%" fill="white"/>"#)
        out.append(#"<text x="\#(f(left))" y="24" font-size="16" font-weight="bold">\#(escape(scenario.file)): pages of RAM by owner, per event (\#(escape(scenario.config.variant)))</text>"#)
        let preset = KernelSettings.preset(named: scenario.config.variant) ?? .xv6_2020
        let changed = zip(scenario.config.settings.listed, preset.listed).filter { $0.0.value != $0.1.value }.map { "\($0.0.key): \($0.0.value)" }
        if !changed.isEmpty {
            out.append(#"<text x="\#(f(left))" y="40" fill="rgb(85,85,85)">\#(escape(changed.joined(separator: ", ")))</text>"#)
        }
        // Stacked areas: owners from the bottom, then leaked pages; kinds never seen are left out.
        let layers: [(String, String, (Sample) -> Int)] = (OwnerKind.allCases.map { k in
            (k.name, Self.colours[k]!, { $0.owners[k] ?? 0 })
        } + [("leaked (no live owner)", "#e15759", { $0.leaked })]).filter { layer in samples.contains { layer.2($0) > 0 } }
        var base = samples.map { _ in 0 }
        for (_, colour, value) in layers {
            let tops = samples.indices.map { base[$0] + value(samples[$0]) }
            if zip(tops, base).allSatisfy({ $0 == $1 }) { continue }
            var pts = samples.indices.map { "\(f(x(samples[$0].event))),\(f(y(tops[$0])))" }
            pts += samples.indices.reversed().map { "\(f(x(samples[$0].event))),\(f(y(base[$0])))" }
            out.append(#"<polygon points="\#(pts.joined(separator: " "))" fill="\#(colour)" stroke="none"/>"#)
            base = tops
        }
        // Free pages after every event, as a line.
        let step = max(1, freeAfter.count / 2000)
        let line = stride(from: 0, to: freeAfter.count, by: step).map { "\(f(x($0))),\(f(y(freeAfter[$0])))" }.joined(separator: " ")
        out.append(#"<polyline points="\#(line)" fill="none" stroke="black" stroke-width="2"/>"#)
        // Axes, ticks and labels.
        out.append(#"<line x1="\#(f(left))" y1="\#(f(top + ph))" x2="\#(f(left + pw))" y2="\#(f(top + ph))" stroke="black"/>"#)
        out.append(#"<line x1="\#(f(left))" y1="\#(f(top))" x2="\#(f(left))" y2="\#(f(top + ph))" stroke="black"/>"#)
        for i in 0...5 {
            let v = maxY * i / 5, e = maxEvent * i / 5
            out.append(#"<line x1="\#(f(left - 5))" y1="\#(f(y(v)))" x2="\#(f(left))" y2="\#(f(y(v)))" stroke="black"/>"#)
            out.append(#"<text x="\#(f(left - 8))" y="\#(f(y(v) + 4))" text-anchor="end">\#(v)</text>"#)
            out.append(#"<line x1="\#(f(x(e)))" y1="\#(f(top + ph))" x2="\#(f(x(e)))" y2="\#(f(top + ph + 5))" stroke="black"/>"#)
            out.append(#"<text x="\#(f(x(e)))" y="\#(f(top + ph + 20))" text-anchor="middle">\#(e)</text>"#)
        }
        out.append(#"<text x="\#(f(left + pw / 2))" y="\#(f(h - 15))" text-anchor="middle">event number</text>"#)
        out.append(#"<text x="20" y="\#(f(top + ph / 2))" text-anchor="middle" transform="rotate(-90 20 \#(f(top + ph / 2)))">pages</text>"#)
        if let p = panic {
            out.append(#"<line x1="\#(f(x(p.event)))" y1="\#(f(top))" x2="\#(f(x(p.event)))" y2="\#(f(top + ph))" stroke="rgb(204,0,0)" stroke-width="2" stroke-dasharray="6 4"/>"#)
            out.append(#"<text x="\#(f(x(p.event) - 6))" y="\#(f(top + 16))" text-anchor="end" fill="rgb(204,0,0)" font-weight="bold">panic: \#(escape(p.message)) (event \#(p.event))</text>"#)
        }
        // Legend.
        var ly = top
        out.append(#"<line x1="\#(f(w - right + 20))" y1="\#(f(ly + 6))" x2="\#(f(w - right + 40))" y2="\#(f(ly + 6))" stroke="black" stroke-width="2"/>"#)
        out.append(#"<text x="\#(f(w - right + 46))" y="\#(f(ly + 10))">free pages</text>"#)
        for (name, colour, _) in layers {
            ly += 20
            out.append(#"<rect x="\#(f(w - right + 20))" y="\#(f(ly))" width="20" height="12" fill="\#(colour)"/>"#)
            out.append(#"<text x="\#(f(w - right + 46))" y="\#(f(ly + 10))">\#(escape(name))</text>"#)
        }
        out.append("</svg>")
        return out.joined(separator: "\n") + "\n"
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
