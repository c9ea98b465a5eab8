import Foundation

/// The two searches of Captum's `MinParamPerturbation` (captum/robust/_core/metrics/
/// min_param_perturbation.py), over one real parameter, reproduced value for value: the same
/// doubles are evaluated in the same order, so a deterministic perturbation and model give
/// the same `min_param` as Captum's.
///
/// - Linear: Captum's `drange` — arg_min, then arg_min + step, … accumulated by repeated
///   addition (so 0.1-steps drift: 0.30000000000000004) while the value is below arg_max;
///   arg_max itself is never evaluated. The first value that flips is the answer.
/// - Binary: Captum's `_binary_search` over [arg_min, arg_max), midpoints on the step grid
///   from the current lower end with Python's float floor division, stopping when the
///   midpoint is `math.isclose` to the lower end. It assumes flipping is monotone in the
///   parameter; when it is not, it returns a flipping value that need not be the smallest,
///   exactly as Captum does.
enum ParameterSearch {
    /// The most parameter values one search may hold (the grid of arg_min…arg_max by step).
    static let maximumCandidates = 100_000

    /// Captum's `drange(arg_min, arg_max, arg_step)`, or nil when it holds more than `limit`
    /// values.
    static func linearGrid(from lower: Double, to upper: Double, step: Double, limit: Int = maximumCandidates) -> [Double]? {
        var values: [Double] = []
        var current = lower
        while current < upper {
            if values.count == limit { return nil }
            values.append(current)
            current += step
        }
        return values
    }

    /// Python's `a // b` on floats (CPython's `float_floor_div`): the floor of the quotient
    /// computed from `fmod`, so `1.0 // 0.1` is 9.0, as in Captum's binary midpoints.
    static func floorDivide(_ a: Double, _ b: Double) -> Double {
        var remainder = fmod(a, b)
        var quotient = (a - remainder) / b
        if remainder != 0 {
            if (b < 0) != (remainder < 0) {
                remainder += b
                quotient -= 1
            }
        }
        guard quotient != 0 else { return Double(sign: (a / b).sign, exponentBitPattern: 0, significandBitPattern: 0) }
        var result = quotient.rounded(.down)
        if quotient - result > 0.5 { result += 1 }
        return result
    }

    /// Python's `math.isclose(a, b)` at its defaults (relative tolerance 1e-9, no absolute one).
    static func isClose(_ a: Double, _ b: Double) -> Bool {
        a == b || abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    }

    /// Captum's binary search as a state machine: `next()` gives the value to evaluate, then
    /// `record(flipped:)` its outcome, until `next()` is nil; `best` is the answer.
    struct Binary {
        private var lower: Double
        private var upper: Double
        private let step: Double
        private var pending: Double?
        private var finished = false
        /// The smallest value seen to flip (Captum's `min_so_far`).
        private(set) var best: Double?
        /// A guard against a loop the doubles could keep from ending (Captum has none); the
        /// search halves a grid of at most ``maximumCandidates`` values, so it is never met.
        private var remainingSteps = 256

        init(from lower: Double, to upper: Double, step: Double) {
            self.lower = lower
            self.upper = upper
            self.step = step
        }

        /// The next value to evaluate, or nil when the search is over.
        mutating func next() -> Double? {
            guard !finished, upper > lower, remainingSteps > 0 else { return nil }
            remainingSteps -= 1
            var middleStep = ParameterSearch.floorDivide(ParameterSearch.floorDivide(upper - lower, step), 2)
            if middleStep == 0 && lower + step < upper { middleStep = 1 }
            let middle = lower + middleStep * step
            pending = middle
            return middle
        }

        /// Whether the value `next()` gave flipped the prediction.
        mutating func record(flipped: Bool) {
            guard let middle = pending else { return }
            pending = nil
            if flipped {
                upper = middle
                if best.map({ $0 > middle }) ?? true { best = middle }
            }
            if ParameterSearch.isClose(lower, middle) {
                finished = true
                return
            }
            if !flipped { lower = middle }
        }
    }
}
