import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// scikit-learn trees converted by skl2onnx (`scripts/fixtures/make_onnx_tree_fixtures.py`):
/// the raw score equals scikit-learn's, the probabilities onnxruntime's, and interventional
/// TreeSHAP SHAP's on the scikit-learn model.
@Suite struct ONNXTreeEnsembleTests {
    static let models: [String] = ["skl_forest_regression", "skl_gbt_binary"]

    @Test(arguments: models)
    func scoresAndInterventionalValuesMatch(_ name: String) throws {
        let root = try #require(try Fixtures.json("golden/onnx_trees.json") as? [String: Any])
        let model = try #require((root["models"] as? [[String: Any]])?.first { $0["name"] as? String == name })
        let file = Fixtures.repository.appendingPathComponent(model["file"] as? String ?? "")
        let data = try Data(contentsOf: file)
        #expect(ONNXTreeEnsembleLoader.holdsTreeEnsemble(data))
        let ensemble = try ONNXTreeEnsembleLoader.load(data)
        #expect(!ensemble.hasCovers)
        let inputs = (model["inputs"] as? [Any] ?? []).map(jsonNumbers)
        let tensor = try Tensor(shape: [inputs.count, inputs[0].count], scalars: inputs.flatMap { $0.map(Float.init) })
        let raw = jsonNumbers(model["sklearn_raw"] ?? [])
        for (row, margin) in ensemble.margins(tensor).enumerated() {
            #expect(abs(margin - raw[row]) <= 1e-4 * max(1, abs(raw[row])), "row \(row)")
        }
        if let probabilities = (model["onnx_outputs"] as? [String: Any])?["probabilities"] as? [Any] {
            let predicted = try ensemble.predict([tensor])[try #require(ensemble.outputs.firstIndex { $0.name == "probabilities" })].scalars
            let expected = probabilities.flatMap(jsonNumbers)
            #expect(isClose(predicted, expected.map(Float.init), absolute: 1e-5))
        }
        let golden = try #require(model["interventional"] as? [String: Any])
        let background = (golden["background"] as? [Any] ?? []).map(jsonNumbers)
        let expected = (golden["shap_values"] as? [Any] ?? []).map(jsonNumbers)
        let problem = ExplanationProblem(
            model: ensemble, inputs: [tensor], output: ensemble.marginOutput, targets: Array(repeating: 0, count: inputs.count))
        #expect(throws: ExplanationError.self) { _ = try TreeShap().prepare([:], for: problem) }  // no covers
        let plan = try TreeShap().prepare(
            ["feature_perturbation": "interventional", "background": .array(background.map { .array($0.map { .number($0) }) })],
            for: problem)
        // Brute force on the converted model itself: exact_shapley over the same background
        // plays the game interventional TreeSHAP solves.
        let backgroundJSON: JSONValue = .array(background.map { .array($0.map { .number($0) }) })
        let exact =
            inputs[0].count <= 12
            ? try ExplanationRunner.run(
                try ExactShapley().prepare(["background": backgroundJSON], for: problem), problem: problem, context: ExplanationContext())
            : []
        let shap = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
        for (row, explanation) in shap.enumerated() {
            let values = explanation.attribution.attributions[0].scalars
            let scale = Float(expected[row].map(abs).max() ?? 1)
            if !exact.isEmpty {
                #expect(
                    isClose(values, exact[row].attribution.attributions[0].scalars, absolute: 1e-4 * max(scale, 1)),
                    "row \(row) vs brute force")
            }
            // SHAP explained the scikit-learn model, whose thresholds are float64; the
            // conversion rounds them to float32, which can route a background row that lies
            // between the two differently (it does for the forest's), so only the boosted
            // model is compared number for number.
            if name == "skl_gbt_binary" {
                #expect(isClose(values, expected[row].map(Float.init), absolute: 1e-4 * max(scale, 1)), "row \(row) vs SHAP")
            }
        }
    }

    /// The model is served under the graph's declared input and output names, with the raw
    /// score as one more output, `margin`; a classifier's `label` is onnxruntime's.
    @Test(arguments: models)
    func declaredNamesAndLabelsAreServed(_ name: String) throws {
        let root = try #require(try Fixtures.json("golden/onnx_trees.json") as? [String: Any])
        let model = try #require((root["models"] as? [[String: Any]])?.first { $0["name"] as? String == name })
        let ensemble = try ONNXTreeEnsembleLoader.load(
            try Data(contentsOf: Fixtures.repository.appendingPathComponent(model["file"] as? String ?? "")))
        #expect(ensemble.inputs.map(\.name) == [model["input_name"] as? String ?? ""])
        let declared = model["output_names"] as? [String] ?? []
        #expect(ensemble.outputs.map(\.name) == declared + ["margin"])
        #expect(ensemble.marginOutput == declared.count)
        let inputs = (model["inputs"] as? [Any] ?? []).map(jsonNumbers)
        let outputs = try ensemble.predict([
            try Tensor(shape: [inputs.count, inputs[0].count], scalars: inputs.flatMap { $0.map(Float.init) })
        ])
        let expected = model["onnx_outputs"] as? [String: Any] ?? [:]
        for (info, output) in zip(ensemble.outputs, outputs) where expected[info.name] != nil {
            let values = (expected[info.name] as? [Any] ?? []).flatMap { $0 is [Any] ? jsonNumbers($0) : jsonNumbers([$0]) }
            #expect(isClose(output.scalars, values.map(Float.init), absolute: 1e-5), "\(info.name)")
            #expect(info.elementType == (info.name == "label" ? .int64 : .float32))
        }
    }

    /// skl2onnx's random-forest classifiers and onnxmltools' XGBoost and LightGBM boosters
    /// (`make_converter_fixtures.py`): interventional TreeSHAP on the ONNX file equals SHAP's
    /// on the library model, class by class. The binary forest keeps one score column,
    /// P(class 1), which Candor's margin holds.
    @Test(arguments: [
        "forest_binary", "forest_multiclass", "xgboost_binary", "xgboost_multiclass", "xgboost_regression", "lightgbm_binary",
        "lightgbm_multiclass", "lightgbm_regression",
    ])
    func convertedModelValuesMatchShap(_ name: String) throws {
        let root = try #require(try Fixtures.json("golden/converted_onnx.json") as? [String: Any])
        let model = try #require((root["models"] as? [[String: Any]])?.first { $0["name"] as? String == name })
        let ensemble = try ONNXTreeEnsembleLoader.load(try Data(contentsOf: Fixtures.url(model["file"] as? String ?? "")))
        let golden = try #require(model["tree_shap"] as? [String: Any])
        let inputs = (model["inputs"] as? [Any] ?? []).map(jsonNumbers)
        let tensor = try Tensor(shape: [inputs.count, inputs[0].count], scalars: inputs.flatMap { $0.map(Float.init) })
        let background: JSONValue = .array(
            (golden["background"] as? [Any] ?? []).map(jsonNumbers).map { .array($0.map { .number($0) }) })
        let values = golden["values"] as? [Any] ?? []
        // [class][instance][feature], or [instance][feature] for the binary forest.
        let perClass: [[[Double]]] =
            ((values.first as? [Any])?.first is [Any]) ? values.map { ($0 as? [Any] ?? []).map(jsonNumbers) } : [values.map(jsonNumbers)]
        let expectedBase = jsonNumbers(golden["expected_value"] is [Any] ? golden["expected_value"] ?? [] : [golden["expected_value"] ?? 0])
        #expect(perClass.count == ensemble.columns)
        for column in 0..<ensemble.columns {
            let problem = ExplanationProblem(
                model: ensemble, inputs: [tensor], output: ensemble.marginOutput, targets: Array(repeating: column, count: inputs.count))
            let plan = try TreeShap().prepare(["feature_perturbation": "interventional", "background": background], for: problem)
            for (row, explanation) in try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).enumerated() {
                let expected = perClass[column][row]
                let scale = Float(max(expected.map(abs).max() ?? 1, 1))
                #expect(
                    isClose(explanation.attribution.attributions[0].scalars, expected.map(Float.init), absolute: 1e-5 * scale),
                    "class \(column) row \(row)")
                let base = try #require(explanation.attribution.extras["base_value"]?.doubleValue)
                #expect(abs(base - expectedBase[column]) <= 1e-5 * Double(scale))
            }
        }
    }
}
