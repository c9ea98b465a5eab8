import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// scikit-learn estimators converted by skl2onnx (`scripts/fixtures/make_converter_fixtures.py`):
/// linear models and pipelines run on the graph runtime, random-forest classifiers on the tree
/// reader, and both give onnxruntime's outputs.
@Suite struct ConvertedONNXModelTests {
    static func models() -> [[String: Any]] {
        (try? Fixtures.json("golden/converted_onnx.json") as? [String: Any])?["models"] as? [[String: Any]] ?? []
    }
    static let names = models().compactMap { $0["name"] as? String }

    @Test func everyModelFixtureIsPresent() {
        #expect(Self.names.count == 13)
    }

    @Test(arguments: names)
    func predictionsEqualOnnxRuntime(_ name: String) throws {
        let model = try #require(Self.models().first { $0["name"] as? String == name })
        let data = try Data(contentsOf: Fixtures.url(model["file"] as? String ?? ""))
        let rows = (model["inputs"] as? [Any] ?? []).map(jsonNumbers)
        let inputs = try Tensor(shape: [rows.count, rows[0].count], scalars: rows.flatMap { $0.map(Float.init) })
        let expected = try #require(model["onnx_outputs"] as? [String: Any])
        let loaded: any PredictiveModel =
            ONNXTreeEnsembleLoader.holdsTreeEnsemble(data) ? try ONNXTreeEnsembleLoader.load(data) : try ONNXModelLoader.load(data)
        let outputs = try loaded.predict([inputs])
        func flat(_ value: Any?) -> [Float] {
            (value as? [Any] ?? []).flatMap { $0 is [Any] ? jsonNumbers($0) : jsonNumbers([$0]) }.map(Float.init)
        }
        if let ensemble = loaded as? TreeEnsemble, let margins = model["library_margin"] as? [Any] {
            // A tree model also serves its raw score, `margin`: the library's own.
            let byClass = margins.map(jsonNumbers)
            let expectedMargins = (0..<rows.count).flatMap { row in byClass.map { Float($0[row]) } }
            #expect(ensemble.columns == byClass.count)
            let margin = try #require(ensemble.outputs.firstIndex { $0.name == "margin" })
            #expect(margin == ensemble.marginOutput)
            #expect(
                isClose(outputs[margin].scalars, expectedMargins, absolute: 1e-4, relative: 1e-5),
                "\(outputs[margin].scalars) vs \(expectedMargins)")
        }
        var compared = 0
        for (info, actual) in zip(loaded.outputs, outputs) {
            // A graph reports its own outputs under their declared names (a ZipMap's maps as the
            // tensor of class scores, a classifier's label as its class label), tree models too.
            guard let values = expected[info.name] else { continue }
            #expect(
                isClose(actual.scalars, flat(values), absolute: 1e-5, relative: 1e-5), "\(info.name): \(actual.scalars) vs \(flat(values))")
            compared += 1
        }
        #expect(compared == expected.count)
    }

    @Test func aLinearPipelineFoldsItsScalingIntoTheWeights() throws {
        let model = try Fixtures.model("converted/logistic_minmax_multinomial.onnx")
        let form = try #require(model.linearForm)
        #expect(form.weights.count == 3 && form.weights[0].count == 4)
        // The folded form reproduces the graph's own scores: softmax of W·x + b.
        let x: [Float] = [5.9, 3.0, 4.2, 1.5]
        let scores = form.scores(x[...])
        let top = scores.max() ?? 0
        let exponentials = scores.map { exp($0 - top) }
        let total = exponentials.reduce(0, +)
        let probabilities = try model.predict([try Tensor(shape: [1, 4], scalars: x)])[1].scalars
        #expect(isClose(probabilities, exponentials.map { Float($0 / total) }, absolute: 1e-6))
    }
}
