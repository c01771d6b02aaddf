import XV6
import Support
import Scenario

extension Shrink {
    /// A scenario as shrink edits it: compiled events, and repeats of them.
    package typealias Piece = ScenarioWriter.Tree<Step>

    /// An event as shrink edits it: the compiled event and the names the processes it
    /// mentions go by. Its kind's spec says which numbers may shrink and which process it
    /// creates; renaming a process touches names only, never a path or an argv string. Two
    /// steps are the same when they are written the same (rounds of a repeat differ in pids
    /// and lines, not in what they say).
    package struct Step: Equatable {
        private(set) var event: Event
        /// The name of each pid the event mentions (a pid no name reaches is written as itself).
        private(set) var names: [Int: String]
        /// The event as the candidate scenario writes it.
        package var text: String

        package init(_ event: Event, naming name: (Int) -> String) {
            var names: [Int: String] = [:]
            text = ScenarioWriter.line(event) { pid in
                let n = name(pid)
                names[pid] = n
                return n
            }
            self.event = event
            self.names = names
        }

        package static func == (a: Step, b: Step) -> Bool { a.text == b.text }

        /// The name of the process the event creates (userinit's, a fork's child), if it does.
        var created: String? { event.spec.creates(event).flatMap { names[$0] } }

        /// The step with every process named `x` named `y`.
        package func renamed(_ x: String, to y: String) -> Step {
            guard names.values.contains(x) else { return self }
            return Step(event, naming: { pid in names[pid].map { $0 == x ? y : $0 } ?? String(pid) })
        }

        /// The step with another kind (a number made smaller), its processes named as they were.
        func with(_ kind: EventKind) -> Step {
            var e = event
            e.kind = kind
            return Step(e, naming: { names[$0] ?? String($0) })
        }
    }

    /// The pieces as lines of YAML.
    package static func text(_ pieces: [Piece]) -> [Item] {
        pieces.map { piece in
            switch piece {
            case .line(let step): .line(step.text)
            case let .loop(count, body): .loop(count, text(body))
            }
        }
    }

    /// For each number the spec of an event lets shrink vary, the smallest magnitude (by
    /// binary search between 0 and the number) for which the run still shows the predicate.
    static func shrinkNumbers(_ start: [Step], _ test: ([Step]) -> Bool) -> [Step] {
        var current = start
        for i in current.indices {
            for field in current[i].event.spec.numbers {
                guard let v = field.get(current[i].event.kind), v.magnitude > 0 else { continue }
                func with(_ m: UInt64) -> [Step] {
                    var c = current
                    c[i] = c[i].with(field.set(c[i].event.kind, m))
                    return c
                }
                var lo: UInt64 = 0, hi = v.magnitude          // hi holds; find the smallest that does
                if test(with(0)) { current = with(0); continue }
                while hi - lo > 1 {
                    let mid = lo + (hi - lo) / 2
                    if test(with(mid)) { hi = mid } else { lo = mid }
                }
                current = with(hi)
            }
        }
        return current
    }

    /// The steps, with processes named p1, p2, ... in the order they are created outside
    /// repeats, and c1, c2, ... inside them; through names no scenario uses, so that
    /// swapping two names cannot collide.
    static func renumber(_ pieces: [Piece]) -> [Step] {
        var order: [(String, String)] = []
        var top = 0, inner = 0
        func walk(_ pieces: [Piece], inRepeat: Bool) {
            for piece in pieces {
                switch piece {
                case .line(let step):
                    guard let x = step.created else { continue }
                    if inRepeat { inner += 1; order.append((x, "c\(inner)")) } else { top += 1; order.append((x, "p\(top)")) }
                case .loop(_, let body): walk(body, inRepeat: true)
                }
            }
        }
        walk(pieces, inRepeat: false)
        var out = flatten(pieces)
        for (k, (x, _)) in order.enumerated() { out = out.map { $0.renamed(x, to: "renamed_\(k)") } }
        for (k, (_, y)) in order.enumerated() { out = out.map { $0.renamed("renamed_\(k)", to: y) } }
        return out
    }
}
