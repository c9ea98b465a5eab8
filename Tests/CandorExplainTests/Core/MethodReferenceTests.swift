import CandorExplain
import CandorTestSupport
import Foundation
import Testing

/// `docs/methods.md` is generated from the method catalog; these tests keep the committed file
/// current and every method's claim of what it is checked against present and short.
@Suite struct MethodReferenceTests {
    @Test func committedMethodsReferenceIsCurrent() throws {
        let committed = try String(contentsOf: Fixtures.repository.appendingPathComponent("docs/methods.md"), encoding: .utf8)
        let current = MethodReference.markdown(.standard)
        guard committed != current else { return }
        let (old, new) = (committed.components(separatedBy: "\n"), current.components(separatedBy: "\n"))
        let line = (0..<min(old.count, new.count)).first { old[$0] != new[$0] } ?? min(old.count, new.count)
        Issue.record(
            """
            docs/methods.md is stale: run `\(MethodReference.regenerateCommand)` and commit it. \
            First difference at line \(line + 1): committed \(line < old.count ? "'\(old[line])'" : "nothing"), \
            generated \(line < new.count ? "'\(new[line])'" : "nothing")
            """)
    }

    @Test func everyMethodSaysWhatItIsCheckedAgainst() {
        let markdown = MethodReference.markdown(.standard)
        for explainer in MethodCatalog.standard.explainers {
            let method = explainer.descriptor
            let claim = method.checkedAgainst.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(claim.count >= 20, "\(method.name) must say what it is checked against")
            #expect(!claim.contains("\n"), "\(method.name): checkedAgainst is one line of the summary table")
            let row = MethodReference.summaryRow(method)
            #expect(row.count < 300, "\(method.name)'s summary row has \(row.count) characters: move the rest to details")
            #expect(markdown.contains(row + "\n"))
            #expect(markdown.contains("## `\(method.name)`\n"))
            if let details = method.details {
                #expect(!details.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(method.name): empty details")
            }
        }
    }

    /// The README's short methods table names every method of the catalog, in its order, so
    /// it says what each is checked against.
    @Test func theReadmeMethodsTableListsEveryMethod() throws {
        let readme = try String(contentsOf: Fixtures.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let methods = try #require(readme.components(separatedBy: "\n## Methods\n").last?.components(separatedBy: "\n## ").first)
        let listed = methods.split(separator: "\n").filter { $0.hasPrefix("| `") }.compactMap { $0.split(separator: "`").dropFirst().first }
        #expect(listed.map(String.init) == MethodCatalog.standard.names)
    }

    /// The README's analyses table names every analysis of the catalog, in its order.
    @Test func theReadmeAnalysesTableListsEveryAnalysis() throws {
        let readme = try String(contentsOf: Fixtures.repository.appendingPathComponent("README.md"), encoding: .utf8)
        let analyses = try #require(readme.components(separatedBy: "\n## Analyses\n").last?.components(separatedBy: "\n## ").first)
        let listed = analyses.split(separator: "\n").filter { $0.hasPrefix("| `") }.compactMap {
            $0.split(separator: "`").dropFirst().first
        }
        #expect(listed.map(String.init) == AnalysisCatalog.standard.names)
    }
}
