import HTTPTypes
import Hummingbird
import Synchronization

/// Which methods each route template answers, so a request with a method a path does not
/// take is a 405 with `Allow` (RFC 9110 §15.5.6) rather than a 404 that says the path does
/// not exist. Filled from the router once every route is registered.
final class AllowedMethods: Sendable {
    private let routes = Mutex<[(segments: [String], method: HTTPRequest.Method)]>([])

    /// Takes the routes as the router lists them (captures appear as `{name}`).
    func load(_ descriptions: [Router<CandorRequestContext>.RouteDescription]) {
        let table = descriptions.map { (segments: Self.segments(of: $0.path.description), method: $0.method) }
        routes.withLock { $0 = table }
    }

    /// The methods some route answers at `path`, in the order HTTP lists them; empty when no
    /// route has this path. Where templates of several specificities match, only the most
    /// specific count, as the router's trie takes them: `/v1/models/a:predict` is
    /// `{name}:predict`'s path, not `{name}`'s.
    func methods(at path: String) -> [HTTPRequest.Method] {
        let requested = Self.segments(of: path)
        let matching = routes.withLock { routes in
            routes.filter { route in
                route.segments.count == requested.count && zip(route.segments, requested).allSatisfy(Self.matches)
            }
        }
        let specificities = matching.map { $0.segments.map(Self.specificity) }
        guard let most = specificities.max(by: { $0.lexicographicallyPrecedes($1) }) else { return [] }
        return Self.inHTTPOrder(zip(matching, specificities).filter { $0.1 == most }.map(\.0.method))
    }

    /// 2 for a literal segment, 1 for a capture with a literal suffix, 0 for a bare capture.
    private static func specificity(of template: String) -> Int {
        guard template.hasPrefix("{") || template.hasPrefix(":") else { return 2 }
        return template.hasSuffix("}") || template.hasPrefix(":") ? 0 : 1
    }

    /// Every method some route takes, as an `Allow` value: what a 501 lists.
    var implemented: String {
        Self.allowValue(routes.withLock { $0.map(\.method) })
    }

    /// The same, before routes are loaded into a table (for the connection guard).
    static func implemented(by descriptions: [Router<CandorRequestContext>.RouteDescription]) -> String {
        allowValue(descriptions.map(\.method))
    }

    private static func allowValue(_ methods: [HTTPRequest.Method]) -> String {
        inHTTPOrder(methods).map(\.rawValue).joined(separator: ", ")
    }

    /// The router answers HEAD wherever it answers GET (`autoGenerateHeadEndpoints`), though
    /// it lists only GET.
    private static func inHTTPOrder(_ methods: [HTTPRequest.Method]) -> [HTTPRequest.Method] {
        let answered = methods.contains(.get) ? methods + [.head] : methods
        let order: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]
        return order.filter(answered.contains)
    }

    /// Whether a path segment fits a template's: a literal equal to it, or a capture (`{name}`
    /// or `:name`) followed by whatever literal ends the segment (KServe's `{name}:predict`).
    private static func matches(_ template: String, _ segment: String) -> Bool {
        if template.hasPrefix(":") { return true }
        guard template.hasPrefix("{"), let close = template.firstIndex(of: "}") else { return template == segment }
        let suffix = template[template.index(after: close)...]
        return segment.count > suffix.count && segment.hasSuffix(suffix)
    }

    private static func segments(of path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
