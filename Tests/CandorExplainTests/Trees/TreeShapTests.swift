import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// XGBoost and LightGBM models read from their own files predict the libraries' raw margins,
/// and TreeSHAP gives SHAP `TreeExplainer`'s values and expected value
/// (`scripts/fixtures/make_tree_fixtures.py`).
@Suite struct TreeShapTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let file: String
        let columns: Int
        let inputs: [[Double]]
        /// [instance][column]
        let margins: [[Double]]
        /// [instance][column][feature]
        let shap: [[[Double]]]
        let expected: [Double]
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        guard let root = try? Fixtures.json("golden/tree_shap.json") as? [String: Any], let models = root["models"] as? [[String: Any]]
        else { return [] }
        return models.compactMap { model -> Case? in
            guard let columns = model["n_outputs"] as? Int,
                let dependent = model["tree_path_dependent"] as? [String: Any]
            else { return nil }
            // NaN is written as null in the inputs.
            let inputs = (model["inputs"] as? [[Any]] ?? []).map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
            let marginRows = model["margin"] as? [Any] ?? []
            let margins: [[Double]] = marginRows.map { $0 is [Any] ? jsonNumbers($0) : [($0 as? NSNumber)?.doubleValue ?? .nan] }
            // SHAP's float64 values (for XGBoost, its own `pred_contribs` runs float32 code;
            // LightGBM's is float64): [instance][feature], or [instance][class][feature].
            let key = dependent.keys.contains("shap_values_f64") ? "_f64" : ""
            let rows = dependent["shap_values" + key] as? [Any] ?? []
            let shap: [[[Double]]] = rows.map { row in
                let items = row as? [Any] ?? []
                return items.first is [Any] ? items.map(jsonNumbers) : [jsonNumbers(items)]
            }
            let expectedValue = dependent["expected_value" + key]
            let expected = expectedValue is [Any] ? jsonNumbers(expectedValue ?? []) : [(expectedValue as? NSNumber)?.doubleValue ?? .nan]
            return Case(
                name: model["name"] as? String ?? "", file: model["file"] as? String ?? "", columns: columns, inputs: inputs,
                margins: margins, shap: shap, expected: expected)
        }
    }()

    @Test func theFixtureHasTheXGBoostAndLightGBMModels() {
        #expect(Self.cases.count == 5)
    }

    static func load(_ file: String) throws -> TreeEnsemble {
        let data = try Data(contentsOf: Fixtures.repository.appendingPathComponent(file))
        return file.hasSuffix(".txt") ? try LightGBMModelLoader.load(data) : try XGBoostModelLoader.load(data)
    }

    @Test(arguments: cases)
    func marginsAndTreeShapMatchTheLibrariesAndShap(_ golden: Case) throws {
        try #require(golden.shap.count == golden.inputs.count && golden.expected.count == golden.columns)
        let ensemble = try Self.load(golden.file)
        let width = golden.inputs[0].count
        let inputs = try Tensor(shape: [golden.inputs.count, width], scalars: golden.inputs.flatMap { $0.map(Float.init) })
        let margins = ensemble.margins(inputs)
        for (row, expected) in golden.margins.enumerated() {
            for column in 0..<golden.columns {
                let value = margins[row * golden.columns + column]
                #expect(abs(value - expected[column]) <= 1e-4 * max(1, abs(expected[column])), "margin \(row), \(column)")
            }
        }
        for column in 0..<golden.columns {
            let problem = ExplanationProblem(
                model: ensemble, inputs: [inputs], output: 0, targets: Array(repeating: column, count: golden.inputs.count))
            let plan = try TreeShap().prepare([:], for: problem)
            let explanations = try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext())
            for (row, explanation) in explanations.enumerated() {
                let values = explanation.attribution.attributions[0].scalars
                let expected = golden.shap[row][column].map(Float.init)
                let scale = expected.map(abs).max() ?? 1
                #expect(isClose(values, expected, absolute: 1e-6 * max(scale, 1), relative: 1e-5), "row \(row) class \(column)")
                guard case .number(let base)? = explanation.attribution.extras["base_value"] else {
                    Issue.record("no base_value")
                    continue
                }
                #expect(abs(base - golden.expected[column]) <= 1e-4 * max(1, abs(golden.expected[column])))
                // Local accuracy: the values and the base add up to the margin.
                let total = values.reduce(0) { $0 + Double($1) } + base
                #expect(abs(total - margins[row * golden.columns + column]) <= 1e-4 * max(1, abs(total)))
            }
        }
    }

    /// Interventional TreeSHAP against SHAP's, with the same ten background rows (the binary
    /// model's have missing values, sent as null).
    @Test(arguments: ["xgb_regression", "xgb_binary"])
    func interventionalValuesMatchShap(_ name: String) throws {
        let root = try #require(try Fixtures.json("golden/tree_shap.json") as? [String: Any])
        let model = try #require((root["models"] as? [[String: Any]])?.first { $0["name"] as? String == name })
        let golden = try #require(model["interventional"] as? [String: Any])
        let ensemble = try XGBoostModelLoader.load(
            try Data(contentsOf: Fixtures.repository.appendingPathComponent(model["file"] as? String ?? "")))
        let inputs = (model["inputs"] as? [[Any]] ?? []).map { $0.map { ($0 as? NSNumber)?.doubleValue ?? .nan } }
        let background = (golden["background"] as? [Any] ?? []).map(jsonNumbers)
        let expected = (golden["shap_values"] as? [Any] ?? []).map(jsonNumbers)
        let base = (golden["expected_value"] as? Double) ?? ((golden["expected_value"] as? [Double])?.first ?? .nan)
        let problem = ExplanationProblem(
            model: ensemble, inputs: [try Tensor(shape: [inputs.count, inputs[0].count], scalars: inputs.flatMap { $0.map(Float.init) })],
            output: 0, targets: Array(repeating: 0, count: inputs.count))
        let plan = try TreeShap().prepare(
            [
                "feature_perturbation": "interventional",
                "background": .array(background.map { .array($0.map { $0.isNaN ? .null : .number($0) }) }),
            ],
            for: problem)
        for (row, explanation) in try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).enumerated() {
            let values = explanation.attribution.attributions[0].scalars
            let scale = Float(expected[row].map(abs).max() ?? 1)
            #expect(isClose(values, expected[row].map(Float.init), absolute: 1e-5 * max(scale, 1), relative: 1e-4), "row \(row)")
            if case .number(let value)? = explanation.attribution.extras["base_value"] {
                #expect(abs(value - base) <= 1e-4 * max(1, abs(base)))
            }
        }
    }
}

/// SHAP interaction values of the XGBoost regressor against SHAP's float64 ones.
@Suite struct TreeShapInteractionTests {
    @Test func interactionValuesMatchShapAndSumToTheShapValues() throws {
        let root = try #require(try Fixtures.json("golden/tree_shap.json") as? [String: Any])
        let model = try #require((root["models"] as? [[String: Any]])?.first { $0["name"] as? String == "xgb_regression" })
        let golden = try #require(model["interactions"] as? [String: Any])
        let rows = try #require(golden["instances"] as? [Int])
        let expected = (golden["values_f64"] as? [Any] ?? []).map { ($0 as? [Any] ?? []).map(jsonNumbers) }
        let ensemble = try TreeShapTests.load(model["file"] as? String ?? "")
        let inputs = (model["inputs"] as? [Any] ?? []).map(jsonNumbers)
        let chosen = rows.map { inputs[$0] }
        let problem = ExplanationProblem(
            model: ensemble, inputs: [try Tensor(shape: [chosen.count, chosen[0].count], scalars: chosen.flatMap { $0.map(Float.init) })],
            output: 0, targets: Array(repeating: 0, count: chosen.count))
        let plan = try TreeShap().prepare(["interactions": true], for: problem)
        for (index, explanation) in try ExplanationRunner.run(plan, problem: problem, context: ExplanationContext()).enumerated() {
            guard case .array(let matrixRows)? = explanation.attribution.extras["interactions"] else {
                Issue.record("no interactions")
                return
            }
            let matrix: [[Double]] = matrixRows.map { row in
                guard case .array(let items) = row else { return [] }
                return items.map { if case .number(let value) = $0 { value } else { .nan } }
            }
            let scale = expected[index].flatMap { $0 }.map(abs).max() ?? 1
            for (i, row) in matrix.enumerated() {
                for (j, value) in row.enumerated() {
                    #expect(abs(value - expected[index][i][j]) <= 1e-6 * max(scale, 1), "interaction \(i), \(j)")
                }
                // Each row sums to the feature's SHAP value.
                let shap = Double(explanation.attribution.attributions[0].scalars[i])
                #expect(abs(row.reduce(0, +) - shap) <= 1e-4 * max(scale, 1))
            }
        }
    }
}
