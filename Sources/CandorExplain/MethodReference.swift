/// The method catalog as a reference for people: `docs/methods.md` (``markdown(_:)``) and the
/// listing of `candor methods` (``text(_:)``). Both are rendered from the descriptors that
/// validate requests and answer `GET /v1/methods`, so the reference cannot drift from them; a
/// test fails when the committed `docs/methods.md` differs from ``markdown(_:)``.
public enum MethodReference {
    /// The command that regenerates `docs/methods.md`.
    public static let regenerateCommand = "swift run candor methods --markdown > docs/methods.md"

    /// `docs/methods.md`: an introduction, a summary table and a section per method, then the
    /// quality metrics the same way.
    public static func markdown(
        _ catalog: MethodCatalog, metrics: MetricCatalog = .standard, analyses: AnalysisCatalog = .standard
    ) -> String {
        var lines = [
            "# Methods",
            "",
            "<!-- Generated from the method catalog by `\(regenerateCommand)`; edit the methods' descriptors in Sources/CandorExplain, not this file. -->",
            "",
        ]
        lines += [introduction, ""]
        lines += ["## Summary", "", "| method | family | applies to | checked against |", "| --- | --- | --- | --- |"]
        lines += catalog.explainers.map { summaryRow($0.descriptor) }
        for explainer in catalog.explainers { lines += [""] + section(explainer.descriptor) }
        lines += ["", "# Quality metrics", "", metricsIntroduction, ""]
        lines += ["## Metrics summary", "", "| metric | applies to | checked against |", "| --- | --- | --- |"]
        lines += metrics.metrics.map { metric in
            let descriptor = metric.descriptor
            return row(["[`\(descriptor.name)`](#\(descriptor.name))", descriptor.requirement.rawValue, descriptor.checkedAgainst])
        }
        for metric in metrics.metrics { lines += [""] + section(metric.descriptor) }
        lines += ["", "# Analyses", "", analysesIntroduction, ""]
        lines += ["## Analyses summary", "", "| analysis | applies to | checked against |", "| --- | --- | --- |"]
        lines += analyses.analyses.map { analysis in
            let descriptor = analysis.descriptor
            return row(["[`\(descriptor.name)`](#\(descriptor.name))", descriptor.requirement.rawValue, descriptor.checkedAgainst])
        }
        for analysis in analyses.analyses { lines += [""] + section(analysis.descriptor) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The summary table's row for one method.
    public static func summaryRow(_ method: MethodDescriptor) -> String {
        row(["[`\(method.name)`](#\(method.name))", method.family, method.requirement.rawValue, method.checkedAgainst])
    }

    /// What `candor methods` prints: each method's name, family and the models it applies to,
    /// then, indented, its summary, what it is checked against and its parameters.
    public static func text(_ catalog: MethodCatalog) -> String {
        var lines: [String] = []
        for explainer in catalog.explainers {
            let method = explainer.descriptor
            lines.append("\(method.name) (\(method.family); \(method.requirement.rawValue))")
            lines.append("    \(method.summary)")
            lines.append("    checked against: \(method.checkedAgainst)")
            if method.parameters.isEmpty { lines.append("    parameters: none") } else { lines.append("    parameters:") }
            for spec in method.parameters {
                let facts = [type(spec), defaultValue(spec).map { "default \($0)" }, limits(spec, code: false)].compactMap { $0 }
                lines.append("      \(spec.name): \(facts.joined(separator: ", ")) — \(spec.summary)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let introduction = """
        Every explanation method behind `POST /v1/models/{name}/explain`: what it computes, the models it applies to,
        its parameters with their types, defaults and limits, and what it is checked against. `GET /v1/methods` lists
        the same declarations, which also validate requests. The short version and a walk through the API are in the
        [README](../README.md); how a method is added, in [architecture.md](architecture.md#add-a-method).

        "Checked against" means, for the deterministic methods: the golden values in `Tests/Fixtures/golden/` were
        computed by the reference itself (Captum on PyTorch modules identical to the ONNX fixtures in
        `Tests/Fixtures/models/`; SHAP on those fixtures, the tree and converted models and the demo models; lime and
        Alibi on the demo models; scikit-image on test images) for the parameter variants named, and Candor's tests
        compare against them to float32 tolerance (`slic`'s label maps exactly). The *MLP fixtures* are one MLP as a
        TorchScript export, a dynamo export with external data and a hand-built graph; the *CNN fixtures* a sigmoid
        LeNet, a dynamo export with batch norm, a hand-built graph and a residual block; the *exporter zoo* holds models
        as PyTorch's dynamo and legacy exporters and tf2onnx write them. The sampling methods draw their random numbers
        differently from their references, so they are checked against their definitions and the references' own
        spread instead, and each is reproducible for a fixed `seed`. Besides the goldens, property tests check the
        axioms on a linear model: integrated gradients, ablation, one-element occlusion and exact Shapley give exactly
        w ⊙ (x − x′), a feature the model ignores gets zero, and symmetric features get equal credit. The seeded scripts
        in `scripts/fixtures/` generate the fixtures ([development.md](development.md#regenerating-fixtures-and-demo-models)).
        A method is listed, and accepted, only once it is implemented and checked against its reference.

        Parameter types beyond JSON's own: `baselines` is a number for every element, an array shaped like one
        instance, or one such array per instance (an object of those by input name for a model with several inputs);
        `instances` is an array of instances, or `"model"` for the reference rows the model's sidecar names;
        `feature_mask` is a group id (an integer ≥ 0) per element, shaped like one instance; `integers` is one integer,
        or one per axis of an instance.
        """

    static let analysesIntroduction = """
        What the model does over a whole dataset rather than why it answered one instance. An analysis runs as a job:
        `POST /v1/models/{name}/analyses` with `{"analysis", "data", "params"}` answers 202 with the job's `Location`;
        `GET /v1/analyses/{id}` shows its state, progress and, once it has succeeded, its `result`
        (docs/analyses.md describes jobs, datasets and each result). `GET /v1/methods` lists the analyses under `analyses`.
        """

    static let metricsIntroduction = """
        How far an explanation can be trusted. Ask for metrics with `"evaluate": [...]` (and `"evaluate_params": {metric:
        {...}}`) on an explain request, and each explanation carries `"quality": {metric: {"value": ..., ...}}`; or judge
        attributions made anywhere with `POST /v1/models/{name}/evaluate`. `GET /v1/evaluations` lists the same
        declarations. Every metric batches its model evaluations under the same memory budget as the methods.
        """

    static func section(_ method: MethodDescriptor) -> [String] {
        var lines = [
            "## `\(method.name)`",
            "",
            "- **Computes:** \(method.summary)",
            "- **Family:** \(method.family)",
            "- **Applies to:** \(method.requirement.modelsDescription)",
            "- **Reference:** \(method.reference)",
            "- **Checked against:** \(method.checkedAgainst)",
            "",
        ]
        if method.parameters.isEmpty {
            lines.append("No parameters.")
        } else {
            lines += ["| parameter | type | default | limits | description |", "| --- | --- | --- | --- | --- |"]
            for spec in method.parameters {
                lines.append(
                    row(["`\(spec.name)`", type(spec), defaultValue(spec).map { "`\($0)`" } ?? "—", limits(spec) ?? "—", spec.summary]))
            }
        }
        if let details = method.details { lines += ["", details] }
        return lines
    }

    /// A table row, with the cells' `|` escaped.
    static func row(_ cells: [String]) -> String {
        "| " + cells.map { $0.split(separator: "|", omittingEmptySubsequences: false).joined(separator: "\\|") }.joined(separator: " | ")
            + " |"
    }

    static func type(_ spec: ParameterSpec) -> String {
        if case .choice = spec.kind { return "choice" }
        return spec.typeName
    }

    static func defaultValue(_ spec: ParameterSpec) -> String? {
        spec.defaultValue.map(literal)
    }

    /// The choices of a choice parameter (as code spans for Markdown), or its numeric bounds.
    static func limits(_ spec: ParameterSpec, code: Bool = true) -> String? {
        if case .choice(let choices) = spec.kind {
            return "one of " + choices.map { code ? "`\($0)`" : $0 }.joined(separator: ", ")
        }
        switch (spec.minimum, spec.maximum) {
        case (let low?, let high?): return "\(number(low)) to \(number(high))"
        case (let low?, nil): return "≥ \(number(low))"
        case (nil, let high?): return "≤ \(number(high))"
        case (nil, nil): return nil
        }
    }

    /// A JSON value as it would be written in a request.
    static func literal(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool(let flag): flag ? "true" : "false"
        case .number(let value): number(value)
        case .string(let text): text
        case .array(let items): "[" + items.map(literal).joined(separator: ", ") + "]"
        case .object(let fields):
            "{" + fields.sorted { $0.key < $1.key }.map { "\($0.key): \(literal($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// Integers without a fraction, others in Swift's shortest form with a plain exponent
    /// (`1e-9`, not `1e-09`).
    static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        let text = "\(value)"
        guard let e = text.firstIndex(of: "e"), let exponent = Int(text[text.index(after: e)...]) else { return text }
        return "\(text[..<e])e\(exponent)"
    }
}
