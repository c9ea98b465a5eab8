import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

/// A model of the analysis goldens (`Tests/Fixtures/analyses/*.json`, written by
/// `scripts/fixtures/make_partial_dependence_fixtures.py`): the ONNX model, its dataset rows,
/// the analysed output and target, and the golden cases.
struct AnalysisGoldenModel {
    let name: String
    let model: ONNXModel
    let rows: [[Float]]
    let featureNames: [String]
    let output: Int
    let target: Int?
    let cases: [[String: Any]]

    static func load(_ file: String) throws -> [AnalysisGoldenModel] {
        let golden = try #require(try Fixtures.json(file) as? [String: Any])
        return try (golden["models"] as? [[String: Any]] ?? []).map { fields in
            let rowsFile = Fixtures.repository.appendingPathComponent(fields["rows"] as? String ?? "")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: rowsFile)) as? [[NSNumber]])
            return AnalysisGoldenModel(
                name: fields["name"] as? String ?? "",
                model: try ONNXModelLoader.load(contentsOf: Fixtures.repository.appendingPathComponent(fields["file"] as? String ?? "")),
                rows: rows.map { $0.map { Float($0.doubleValue) } },
                featureNames: fields["feature_names"] as? [String] ?? [],
                output: fields["output"] as? Int ?? 0,
                target: fields["target"] as? Int,
                cases: fields["cases"] as? [[String: Any]] ?? [])
        }
    }

    /// The analysis problem on these rows (with `constantColumns` set to their values), with the
    /// sidecar's feature names and the given features declared categorical.
    func problem(constantColumns: [String: Double] = [:], categorical: [String] = []) throws -> AnalysisProblem {
        var rows = rows
        for (name, value) in constantColumns {
            let index = try #require(featureNames.firstIndex(of: name))
            for row in rows.indices { rows[row][index] = Float(value) }
        }
        var categories: [Int: [Double]] = [:]
        for name in categorical { categories[try #require(featureNames.firstIndex(of: name))] = [0] }
        return AnalysisProblem(
            model: model, rows: [try AnalysisTesting.rows(rows)], output: output, target: target,
            dataset: DatasetSummary(featureNames: featureNames, domains: FeatureDomains(categories: categories)))
    }
}
