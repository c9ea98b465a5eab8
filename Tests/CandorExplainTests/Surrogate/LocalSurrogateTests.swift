import CandorTestSupport
import Foundation
import Testing

@testable import CandorExplain

/// The regression step of LIME, fed the neighbourhoods `lime` itself drew and weighted (from
/// `scripts/fixtures/make_lime_fixtures.py` and `make_lime_image_fixtures.py`), must give
/// lime's features, coefficients, intercept, score and local prediction (to 1e-7: the image
/// fixture's labels are float32 outputs written to nine digits).
@Suite struct LocalSurrogateTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let data: [[Double]]
        let labels: [Double]
        let weights: [Double]
        let selection: String
        let features: Int
        let used: [Int]
        let coefficients: [[Double]]
        let intercept: Double
        let score: Double
        let localPrediction: Double
        var testDescription: String { "\(name) \(selection) \(features)" }
    }

    static let cases: [Case] = tabularCases + imageCases

    /// `lime_image.json`'s neighbourhoods: keep/hide vectors over superpixels, cosine distances.
    static let imageCases: [Case] = {
        guard let root = try? Fixtures.json("golden/lime_image.json") as? [String: Any],
            let neighbourhoods = root["surrogate"] as? [[String: Any]]
        else { return [] }
        return neighbourhoods.map { item in
            let coefficients = (item["explanation"] as? [[Double]]) ?? []
            return Case(
                name: "image \(item["image"] as? String ?? "")", data: item["data"] as? [[Double]] ?? [],
                labels: item["labels_column"] as? [Double] ?? [], weights: item["weights"] as? [Double] ?? [],
                selection: item["feature_selection"] as? String ?? "", features: item["num_features"] as? Int ?? 0,
                used: coefficients.map { Int($0[0]) }, coefficients: coefficients, intercept: item["intercept"] as? Double ?? .nan,
                score: item["score"] as? Double ?? .nan, localPrediction: item["local_pred"] as? Double ?? .nan)
        }
    }()

    static let tabularCases: [Case] = {
        guard let root = try? Fixtures.json("golden/lime_tabular.json") as? [String: Any],
            let neighbourhoods = root["surrogate"] as? [[String: Any]]
        else { return [] }
        return neighbourhoods.flatMap { neighbourhood in
            (neighbourhood["results"] as? [[String: Any]] ?? []).compactMap { result -> Case? in
                let selection = result["feature_selection"] as? String ?? ""
                guard LocalSurrogate.FeatureSelection(rawValue: selection) != nil else { return nil }
                return Case(
                    name: neighbourhood["name"] as? String ?? "", data: neighbourhood["neighborhood_data"] as? [[Double]] ?? [],
                    labels: neighbourhood["labels"] as? [Double] ?? [], weights: neighbourhood["weights"] as? [Double] ?? [],
                    selection: selection, features: result["num_features"] as? Int ?? 0, used: result["used_features"] as? [Int] ?? [],
                    coefficients: result["coefficients"] as? [[Double]] ?? [], intercept: result["intercept"] as? Double ?? .nan,
                    score: result["score"] as? Double ?? .nan, localPrediction: result["local_pred"] as? Double ?? .nan)
            }
        }
    }()

    @Test func theFixturesCoverEverySelectionAndImages() {
        #expect(Self.imageCases.count >= 4)
        #expect(Set(Self.cases.map(\.selection)) == Set(LocalSurrogate.FeatureSelection.allCases.map(\.rawValue)))
    }

    @Test(arguments: cases)
    func reproducesLimesRegression(_ golden: Case) throws {
        let surrogate = LocalSurrogate(
            data: golden.data.flatMap { $0 }, rows: golden.data.count, columns: golden.data[0].count, labels: golden.labels,
            weights: golden.weights)
        let selection = try #require(LocalSurrogate.FeatureSelection(rawValue: golden.selection))
        let fit = try #require(surrogate.explain(features: golden.features, selection: selection))
        #expect(fit.coefficients.map(\.feature) == golden.coefficients.map { Int($0[0]) })
        for (ours, theirs) in zip(fit.coefficients, golden.coefficients) {
            #expect(abs(ours.weight - theirs[1]) < 1e-7 + 1e-6 * abs(theirs[1]), "feature \(ours.feature)")
        }
        #expect(abs(fit.intercept - golden.intercept) < 1e-7 + 1e-6 * abs(golden.intercept))
        #expect(abs(fit.score - golden.score) < 1e-7)
        #expect(abs(fit.localPrediction - golden.localPrediction) < 1e-7 + 1e-6 * abs(golden.localPrediction))
    }
}
