import CandorServer
import CandorTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The counterfactual methods over HTTP: `dice` on the credit demo model keeps the sidecar's
/// feature domains (immutable, whole-numbered and categorical features), `growing_spheres`
/// takes features by name, and every mistake in the shared parameters is a 400 that names it.
@Suite struct CounterfactualRouteTests {
    static let credit = "/v1/models/credit_mlp/explain"
    /// Row 20 of models/credit_mlp.background.json, which the model refuses: 45 years old,
    /// income 40.1k, debt to income 0.18, 7 years employed, 5 credit lines, 3 late payments,
    /// renting, sex 0.
    static let refused = "[45, 40.1, 0.18, 7, 5, 3, 0, 0]"
    /// A [3, 32, 32] image of 0.5s, as JSON: an instance of shapes_cnn.
    static let greyImage: String = {
        func nested(_ inner: String, _ count: Int) -> String { "[" + Array(repeating: inner, count: count).joined(separator: ",") + "]" }
        return nested(nested(nested("0.5", 32), 32), 3)
    }()
    static let features = [
        "age", "income", "debt to income", "years employed", "open credit lines", "late payments", "home ownership", "sex",
    ]

    @Test func diceTurnsARefusalIntoApprovalsWithinTheSidecarDomains() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                Self.credit,
                json: #"""
                    {"method":"dice","inputs":[\#(Self.refused)],
                     "params":{"desired_class":"approved","total_cfs":3,"population_size":40,"max_iterations":60}}
                    """#)
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            #expect(explanation["target_name"] as? String == "refused", "the model refuses this applicant")
            #expect((explanation["desired"] as? [String: Any])?["class"] as? Int == 1)
            #expect(explanation["validity"] as? Double == 1)
            #expect(explanation["diversity"] is Double)
            let counterfactuals = try #require(explanation["counterfactuals"] as? [[String: Any]])
            #expect(counterfactuals.count == 3)
            let original: [Double] = [45, 40.1, 0.18, 7, 5, 3, 0, 0]
            for counterfactual in counterfactuals {
                #expect(counterfactual["prediction"] as? Int == 1, "approved is class 1: \(counterfactual)")
                let values = try #require(counterfactual["instance"] as? [Double])
                #expect(values.count == 8)
                #expect(values[0] == 45 && values[7] == 0, "age and sex are immutable: \(values)")
                for feature in [0, 3, 4, 5] {
                    #expect(values[feature] == values[feature].rounded(), "\(Self.features[feature]) whole: \(values)")
                }
                #expect([0, 1, 2].contains(values[6]), "home ownership is one of its codes: \(values)")
                let changes = try #require(counterfactual["changes"] as? [[String: Any]])
                #expect(!changes.isEmpty && changes.count == counterfactual["sparsity"] as? Int)
                for change in changes {
                    let name = try #require(change["feature"] as? String)
                    let index = try #require(Self.features.firstIndex(of: name), "changes name features by name: \(name)")
                    #expect(!["age", "sex"].contains(name))
                    #expect(abs((change["from"] as? Double ?? .nan) - original[index]) < 1e-5)
                    #expect(change["to"] as? Double == values[index])
                }
                #expect((counterfactual["distance"] as? Double ?? 0) > 0)
            }
        }
    }

    @Test func growingSpheresVariesTheNamedFeatures() async throws {
        try await TestApplication().test { client in
            let response = try await client.post(
                "/v1/models/iris_mlp/explain",
                json: #"""
                    {"method":"growing_spheres","inputs":[[6.0, 2.9, 4.5, 1.5]],
                     "params":{"features_to_vary":["petal length (cm)","petal width (cm)"],"n_in_layer":200}}
                    """#)
            #expect(response.status == .ok, "\(response.text)")
            let explanation = try #require((response.json["explanations"] as? [[String: Any]])?.first)
            #expect(explanation["validity"] as? Double == 1)
            let counterfactual = try #require((explanation["counterfactuals"] as? [[String: Any]])?.first)
            #expect(counterfactual["prediction"] as? Int != explanation["target"] as? Int)
            let values = try #require(counterfactual["instance"] as? [Double])
            #expect(values[0] == 6.0 && abs(values[1] - 2.9) < 1e-6, "sepal features are not to vary: \(values)")
            let changed = (counterfactual["changes"] as? [[String: Any]] ?? []).compactMap { $0["feature"] as? String }
            #expect(!changed.isEmpty && Set(changed).isSubset(of: ["petal length (cm)", "petal width (cm)"]), "\(changed)")
        }
    }

    /// Each mistake is a 400 problem whose detail names it.
    @Test(arguments: [
        (
            credit, #""params":{"desired_class":"rich"}"#, "invalid-parameter",
            "names no class of this model: 'rich'; give one of refused, approved"
        ),
        (
            credit, #""params":{"features_to_vary":["height"]}"#, "invalid-parameter",
            "'features_to_vary' of dice names no feature of this model: 'height'"
        ),
        (
            credit, #""params":{"desired_range":[0.5, 1]}"#, "invalid-parameter",
            "holds 2 class values: give desired_class instead of desired_range"
        ),
        (
            credit, #""params":{"permitted_range":{"income":[90, 50]}}"#, "invalid-parameter",
            "must give 'income' a range [low, high] of two finite numbers with low ≤ high"
        ),
        (credit, #""params":{"total_cfs":50}"#, "invalid-parameter", "'total_cfs' of dice must be at most 20, got 50"),
        ("/v1/models/shapes_cnn/explain", "", "method-not-applicable", "dice searches tabular inputs"),
    ])
    func badCounterfactualRequestsAreExplained(route: String, params: String, code: String, detail: String) async throws {
        let instance = route == Self.credit ? Self.refused : Self.greyImage
        let body = #"{"method":"dice","inputs":[\#(instance)]\#(params.isEmpty ? "" : "," + params)}"#
        try await TestApplication().test { client in
            let response = try await client.post(route, json: body)
            #expect(response.status == .badRequest, "\(response.text)")
            #expect(response.isProblem)
            #expect(response.problemCode == code, "\(response.text)")
            let message = response.json["detail"] as? String ?? ""
            #expect(message.contains(detail), "detail: \(message)")
        }
    }
}
