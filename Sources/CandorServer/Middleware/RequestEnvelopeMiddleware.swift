import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// Wraps every request: assigns the request id (echoed in `X-Request-Id` and attached to the
/// request's logger), turns every error into an `application/problem+json` response (on the
/// Open Inference Protocol's `/v2` routes, its `{"error": "..."}` instead) — a
/// client mistake with its 4xx, anything unexpected as a 500 that is logged but never shows
/// internals — and records the request in the metrics by route template and status.
struct RequestEnvelopeMiddleware: RouterMiddleware {
    typealias Context = CandorRequestContext
    let metrics: ServiceMetrics
    let allowedMethods: AllowedMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var context = context
        let requestId = Self.requestId(from: request)
        context.requestId = requestId
        context.logger[metadataKey: "request_id"] = .string(requestId)

        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let problem = Self.problem(for: error, request: request, allowedMethods: allowedMethods)
            if problem.status.code >= 500 && problem.code == "internal-error" {
                context.logger.error("request failed", metadata: ["error": "\(error)"])
            }
            if OpenInferenceRoutes.serves(request.uri.path) {
                response = problem.openInferenceResponse()
            } else {
                response = (try? problem.response(from: request, context: context)) ?? Response(status: .internalServerError)
            }
        }
        response.headers[.requestId] = requestId
        // Hummingbird names the endpoint of an unmatched request "NotFound".
        let route = context.endpointPath ?? "NotFound"
        metrics.recordRequest(
            route: route, method: request.method.rawValue, status: response.status.code, duration: ContinuousClock.now - start)
        context.logger.debug("\(request.method) \(request.uri.path) → \(response.status.code)")
        return response
    }

    /// Accepts a client's id if it is short and plain; otherwise makes one.
    static func requestId(from request: Request) -> String {
        if let given = request.headers[.requestId], (1...128).contains(given.count),
            given.unicodeScalars.allSatisfy({
                $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.:".unicodeScalars.contains($0))
            })
        {
            return given
        }
        return UUID().uuidString.lowercased()
    }

    static func problem(for error: any Error, request: Request, allowedMethods: AllowedMethods) -> Problem {
        switch error {
        case let problem as Problem:
            return problem
        case is CancellationError:
            // The client went away; nobody reads this answer, and it is no server fault.
            return Problem(.serviceUnavailable, code: "cancelled", detail: "the request was cancelled before it finished")
        case is NIOTooManyBytesError:
            // The rest of the body is never read, so the connection cannot carry another request.
            var problem = Problem(.contentTooLarge, code: "body-too-large", detail: "the request body exceeds the configured limit")
            problem.headers[.connection] = "close"
            return problem
        case let timeout as RequestReadTimeout:
            var problem = Problem(.requestTimeout, code: "request-timeout", detail: timeout.detail)
            problem.headers[.connection] = "close"
            return problem
        case let framing as HTTPParserError:
            return Problem(framing, implementedMethods: allowedMethods.implemented)
        case let error as HTTPError where error.status == .notFound:
            let allowed = allowedMethods.methods(at: request.uri.path)
            guard !allowed.isEmpty else {
                return Problem(.notFound, code: "not-found", detail: "no route for \(request.method) \(request.uri.path)")
            }
            let list = allowed.map(\.rawValue).joined(separator: ", ")
            var problem = Problem(
                .methodNotAllowed, code: "method-not-allowed",
                detail: "\(request.uri.path) does not take \(request.method); it takes \(list)")
            problem.headers[.allow] = list
            return problem
        case let error as any HTTPResponseError where error.status.code < 500:
            return Problem(error.status, code: "bad-request", detail: (error as? HTTPError)?.body ?? error.status.reasonPhrase)
        default:
            return Problem(
                .internalServerError, code: "internal-error", detail: "an internal error occurred; the request id identifies it in the logs"
            )
        }
    }
}
