import CandorExplain
import CandorModel
import CandorTensor
import CandorTestSupport
import Foundation
import Testing

@testable import CandorServer

/// A YAML flow list repeating `item` once per feature of the six-feature test model.
private func six(_ item: String) -> String { "[" + Array(repeating: item, count: 6).joined(separator: ", ") + "]" }

@Suite struct ModelSidecarTests {
    func load(_ name: String) throws -> LoadedModel {
        let folder = Fixtures.repository.appendingPathComponent("models")
        return try LoadedModel.load(
            name: name, onnx: try Data(contentsOf: folder.appendingPathComponent("\(name).onnx")), externalData: .directory(folder),
            sidecar: try Data(contentsOf: folder.appendingPathComponent("\(name).yaml")))
    }

    /// The demo sidecars' statistics give the discretizer lime builds from the training split.
    @Test(arguments: [("iris_mlp", "iris"), ("breast_cancer_mlp", "breast_cancer")])
    func sidecarStatisticsAreLimesDiscretizer(_ model: String, _ entry: String) throws {
        let golden = try #require(
            (try Fixtures.json("golden/lime_tabular.json") as? [String: Any]).flatMap { ($0["discretizer"] as? [String: Any])?[entry] }
                as? [String: Any])
        let loaded = try load(model)
        let bins = try #require(loaded.dataset.statistics?.bins)
        let names = try #require(golden["feature_names"] as? [String])
        let features = try #require(golden["features"] as? [[String: Any]])
        #expect(bins.count == features.count)
        for (feature, lime) in zip(bins.indices, features) {
            let mismatches = limeDiscretizerMismatches(bins[feature], lime, name: names[feature])
            #expect(mismatches.isEmpty, "\(names[feature]): \(mismatches)")
        }
        #expect(loaded.dataset.background?.first?.shape == [model == "iris_mlp" ? 30 : 50, names.count])
    }

    @Test(arguments: [
        ("training_statistics: {min: [0]}", "training_statistics.min has 1 entries, but the model's input has 6"),
        (
            "training_statistics: {quartiles: \(six("[1, 2, 3]")), bin_counts: \(six("[1, 1]")), bin_means: \(six("[1, 2]")), bin_stds: \(six("[0, 0]")), min: \(six("0")), max: \(six("4"))}",
            "there are 4 bins"
        ),
        ("background: missing.json", "missing.json"),
        ("background: ../../etc/passwd", "inside the model's folder"),
        ("unknown_key: 1", "unknown key"),
        ("image_inputs: {x: {width: 2, height: 3, stdev: [1, 1, 1]}}", "unknown key 'stdev' in image_inputs.x"),
        ("image_inputs: {nope: {width: 2, height: 3}}", "image_inputs names 'nope', which is not an input"),
        ("description: &a [x, x]\nclass_names: *a", "YAML alias"),
        ("training_statistics: {std: \(six("-1"))}", "negative deviation"),
        ("training_statistics: {mean: \(six(".nan"))}", "not a finite number"),
        ("training_statistics: {bin_counts: \(six("[1, 1]"))}", "no 'quartiles'"),
        ("immutable_features: [a]", "no feature_names to find them in"),
        ("feature_names: [a, b, c, d, e, f]\nimmutable_features: [age]", "'age', which is not one of the feature_names"),
        ("feature_names: [a, b, c, d, e, f]\ncategorical_features: {a: []}", "between 1 and 10000 finite values"),
        ("feature_names: [a, b, c, d, e, f]\ninteger_features: [a]\ncategorical_features: {a: [0, 1]}", "both integer and categorical"),
        ("training_statistics: {min: \(six("2")), max: \(six("1"))}", "min exceeds training_statistics.max"),
        (
            "training_statistics: {quartiles: \(six("[1, 2, 3]")), bin_counts: \(six("[4611686018427387904, 4611686018427387904, 1, 1]")), bin_means: \(six("[1, 2, 3, 4]")), bin_stds: \(six("[0, 0, 0, 0]")), min: \(six("0")), max: \(six("4"))}",
            "bin counts must lie in"
        ),
        ("tokenizer: missing.json", "missing.json"),
    ])
    func aSidecarThatDoesNotFitIsRefusedNamingWhy(_ sidecar: String, _ message: String) throws {
        let onnx = try Data(contentsOf: Fixtures.url("models/mlp_torchscript.onnx"))
        #expect {
            _ = try LoadedModel.load(name: "m", onnx: onnx, externalData: .files([:]), sidecar: Data(sidecar.utf8))
        } throws: { error in
            "\(error)".contains(message)
        }
    }

    /// A tokenizer goes with a model that takes text as Hugging Face exports it; the file must be
    /// one Candor can read.
    @Test(arguments: [
        ("mlp_torchscript", #"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}}"#, "inputs named input_ids"),
        ("review_sentiment", #"{"model": {"type": "Unigram"}}"#, "'Unigram' is not supported"),
        ("review_sentiment", "not json", "not valid JSON"),
    ])
    func aTokenizerThatDoesNotFitIsRefusedNamingWhy(_ model: String, _ tokenizer: String, _ message: String) throws {
        let folder = model == "review_sentiment" ? Fixtures.repository.appendingPathComponent("models") : Fixtures.url("models")
        let onnx = try Data(contentsOf: folder.appendingPathComponent("\(model).onnx"))
        #expect {
            _ = try LoadedModel.load(
                name: "m", onnx: onnx, externalData: .files(["t.json": Data(tokenizer.utf8)]), sidecar: Data("tokenizer: t.json".utf8))
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
