import XV6
import Support
import Scenario

/// Re-rolling repeats: the compiled events taken back to the scenario's shape.
extension Shrink {
    // MARK: re-rolling repeats

    /// The compiled events (boot aside) as events and repeats. Processes created outside
    /// any repeat are named by pid (p5); those a round creates, c1, c2 ..., the same in
    /// every round. A repeat whose rounds do not all read the same is left unrolled.
    package static func pieces(_ events: [Event]) -> [Piece] {
        let namer = Namer()
        var names: [Int: String] = [:]
        return items(shape(events, 1..<events.count, depth: 0), events, &names, namer, inRepeat: false)
    }

    /// The same, as lines of YAML.
    package static func program(_ events: [Event]) -> [Item] { text(pieces(events)) }

    /// Events grouped by the repeats that made them: an event, or a repeat and its rounds.
    package indirect enum Shape { case event(Int), loop(Int, [[Shape]]) }

    static func shape(_ evs: [Event], _ range: Range<Int>, depth: Int) -> [Shape] {
        var out: [Shape] = []
        var i = range.lowerBound
        func inRound(_ j: Int, _ round: Int, _ count: Int) -> Bool {
            j < range.upperBound && evs[j].rounds.count > depth && evs[j].rounds[depth] == Round(round: round, count: count)
        }
        while i < range.upperBound {
            guard evs[i].rounds.count > depth, evs[i].rounds[depth].round == 1 else { out.append(.event(i)); i += 1; continue }
            let count = evs[i].rounds[depth].count
            var rounds: [[Shape]] = []
            while rounds.count < count && inRound(i, rounds.count + 1, count) {
                var j = i
                while inRound(j, rounds.count + 1, count) { j += 1 }
                rounds.append(shape(evs, i..<j, depth: depth + 1))
                i = j
            }
            out.append(.loop(count, rounds))
        }
        return out
    }

    /// Hands out the names of processes created in repeats.
    package final class Namer {
        var next = 0
        /// When set, the names to give, in order (a later round reuses the first round's).
        var queue: [String]?
        var given: [String] = []
        func fresh() -> String {
            let n: String
            if var q = queue, !q.isEmpty { n = q.removeFirst(); queue = q } else { next += 1; n = "c\(next)" }
            given.append(n)
            return n
        }
    }

    static func items(_ shapes: [Shape], _ evs: [Event], _ names: inout [Int: String], _ namer: Namer, inRepeat: Bool) -> [Piece] {
        var out: [Piece] = []
        for s in shapes {
            switch s {
            case .event(let i):
                let e = evs[i]
                if let pid = e.spec.creates(e) { names[pid] = inRepeat ? namer.fresh() : "p\(pid)" }
                // A process no name in scope reaches (one a repeat created) is named by its pid.
                out.append(.line(Step(e) { names[$0] ?? String($0) }))
            case let .loop(count, rounds):
                let outer = names, mark = namer.given.count
                var first = outer
                let body = items(rounds[0], evs, &first, namer, inRepeat: true)
                let firstNames = Array(namer.given[mark...])
                let queueAfter = namer.queue
                var same = rounds.count == count
                for round in rounds.dropFirst() where same {
                    namer.queue = firstNames
                    let m = namer.given.count
                    var n = outer
                    same = items(round, evs, &n, namer, inRepeat: true) == body
                    namer.given.removeSubrange(m...)
                }
                namer.queue = queueAfter
                if same { out.append(.loop(count, body)) } else {
                    for round in rounds { out += items(round, evs, &names, namer, inRepeat: inRepeat) }
                }
            }
        }
        return out
    }
}
